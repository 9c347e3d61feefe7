// Package forecast is the node-headroom forecast, pure: Predict gives the
// replicas the demand will need leadTime (default 3 min, about a node's
// start-up) from now, projecting the latest demand along the least-squares
// slope of the last Window (5 min) of samples. It never predicts below the
// latest demand or above maxReplicas, ignores falling trends, and falls
// back to the latest demand when the history is empty, stale, sparse or too
// short to show a trend. Headroom(predicted, current) is what to keep in
// reserve; Trim bounds a caller's history.
//
// pkg/nodehints writes the headroom to the cluster; this package imports
// only the standard library (so FuzzPredict's instrumented build is small).
package forecast
