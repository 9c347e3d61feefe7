// Command compare runs Tide side by side with the scalers users run today —
// KEDA v2.21.0's built-in `kafka` (sarama), `apache-kafka` (kafka-go) and
// `redis` scalers — on the same brokers, in the same run, and writes the
// results as ratios against those peers (benchmarks/results/).
//
// Every implementation is driven the way KEDA drives it: one scaler instance
// per ScaledObject, built in-process from github.com/kedacore/keda/v2/pkg/scalers
// and asked through GetMetricsAndActivity by the loop every pollingInterval
// and by the HPA every 15 s. Tide is reached through KEDA's own external
// scaler over gRPC, so its figures include the KEDA side of the call.
//
// Each role runs in its own process so that one's memory and goroutines are
// never counted as another's:
//
//	compare run        orchestrates everything and writes the report
//	compare broker     a 3-broker kfake cluster that counts every request
//	                   (with -filler-topics: the kafka-big suite's big cluster)
//	compare drive      one implementation at one scale on KEDA's schedule
//	compare cases      the correctness cases, every implementation
//	compare activation first message to first `active`, every implementation
//	compare report     re-renders the report from results.json
package main
