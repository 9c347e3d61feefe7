// Package explain says what Tide makes of one trigger now and what the HPA
// will do with it: it parses the metadata with the same registry as serve,
// reads one sample through the engine, evaluates it as every face does,
// runs pkg/hpa's model one sync forward and prints the result with the
// rule that decides the replica count and the configurations that cannot
// work as meant.
//
// For a trigger whose consumers' rate is measured (Kafka counting members) it
// also predicts the time to drain the lag at the current and the proposed
// replica count (pkg/lagtime).
//
// It imports the trigger core, the engine contract, pkg/hpa, pkg/lagtime
// and pkg/hpa/kube's types and checks; never a face. Its errors name fields and
// files, never command-line flags (the command maps them).
package explain
