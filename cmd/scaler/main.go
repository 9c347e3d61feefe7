// Command scaler is Tide: a KEDA external scaler for Kafka consumer-group
// lag, Redis queue depth and inference load, read by a shared background
// poller.
//
//	scaler serve     run the gRPC external scaler and its HTTP endpoints
//	scaler explain   show what the scaler makes of one trigger and what the HPA does with it
//	scaler migrate   rewrite KEDA's built-in kafka, redis, redis-streams and prometheus triggers as Tide triggers
//	scaler version   print the version, revision and Go toolchain
//
// This binary links no Kubernetes client (internal/arch's
// TestLeanScalerLinksNoKubernetes): an idle serve holds a third of the
// memory it did with one (benchmarks/README.md). explain, and serve with
// --hpa-awareness, --inference-discovery or --external-metrics-config, are
// run by scaler-kube (cmd/scaler-kube), which this binary execs from its
// own directory with the same arguments. The command line is
// cmd/internal/scalercmd's.
package main

import "github.com/tide-scaler/tide/cmd/internal/scalercmd"

func main() { scalercmd.Main(nil) }
