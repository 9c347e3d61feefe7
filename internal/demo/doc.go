// Package demo runs Tide's self-contained demonstration: a producer with a
// traffic pattern on a real Kafka wire-protocol cluster, a simulated
// consumer fleet whose size follows what an HPA and KEDA would do with the
// scaler's answers, and a live view of it all. It talks to the scaler only
// through the same gRPC calls KEDA makes.
package demo
