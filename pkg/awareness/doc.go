// Package awareness is Tide's optional HPA awareness: it is told what the
// gRPC service sent for each ScaledObject (Observe, the server's Observer),
// and off the RPC path reads each ScaledObject's HPA through pkg/hpa/kube,
// runs the HPA model forward and exports the predicted replicas, the
// limiting rule and configuration warnings.
//
// It imports the trigger core's types, pkg/hpa and pkg/hpa/kube, strategy
// and metrics; never a face. cmd builds it with the process's Kubernetes
// clients and hands it to the server as its Observer.
package awareness
