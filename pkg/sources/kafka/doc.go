// Package kafka measures Kafka consumer-group lag for Tide, with
// github.com/segmentio/kafka-go on the wire.
//
// Parse turns a trigger's scalerMetadata (KEDA's kafka scaler keys and
// defaults, plus a comma list in topic) into a *Trigger once. The Trigger's
// Query is what the engine polls; queries that name the same brokers and
// credentials share one Upstream, which reads all of them in one batched
// round per poll:
//
//   - topic metadata only for the watched topics, cached and refreshed every
//     30 s of poll time, or at once after a leader or unknown-topic error;
//   - one OffsetFetch per distinct consumer group, sent to its coordinator,
//     which is looked up (FindCoordinator) only the first time and after an
//     error, not before every request as kafka-go's Client does;
//   - one ListOffsets per partition leader for the log end offsets of every
//     watched partition, and a second one per leader only when some query
//     needs log start offsets (earliest policy, uncommitted partitions).
//
// Between polls the Upstream is also the engine's activation probe
// (sources.Prober, probe.go): for the queries whose last sample had no
// activity it reads only log end offsets, one ListOffsets per partition
// leader however many queries share the leaders, and wakes a query whose
// partitions grew past what its last poll saw, so the engine polls it and
// pushes to its StreamIsActive streams at once (TestProbeWakesOnProduce,
// TestProbeOneListOffsetsPerLeader, TestProbeWakesWatcherThroughEngine).
//
// kafka-go's Client.ListOffsets sends one request per partition (against
// kfake 8-12x slower on 1000 partitions and 25-30x on 10000, see
// BenchmarkPoll1000Partitions), so the per-leader requests are built from
// kafka-go's protocol packages and exchanged on the Transport's broker
// connections (see wire.go).
//
// With lagTarget or drainGoal the poll also sends one DescribeGroups per
// group (flow.go) to count the members holding the query's partitions; the
// raw mode's cap (unless allowIdleConsumers) needs the count too, and sends
// one per group at most every 30 s (TestPollFlow). With the offsets it feeds the
// query's rate estimate, lag in seconds, the latest interval's production
// rate and the recent arrivals (sources.Flow).
//
// Lag itself is a pure function of the offsets read (lag.go); the Trigger's
// Evaluate turns a Sample into the metric value with HPA-exact capping, so
// that the HPA never asks for more consumers than there are partitions,
// and, where the members' count sits inside the HPA's tolerance band below
// the partitions (11 of 12), moves the value out of it (unstick.go). In
// metricMode: replicas, lagTarget (lagtime.Replicas) or drainGoal (the
// drain-time law, lagtime.DrainReplicas, drain.go) decide the count.
package kafka
