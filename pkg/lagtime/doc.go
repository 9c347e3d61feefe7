// Package lagtime turns successive polls of a queue into lag measured in
// time and into the replica count that keeps it bounded: "lag in time, not
// only in messages".
//
// A message-count threshold (KEDA's lagThreshold) assumes every replica
// drains the same number of messages per second, and is wrong in both
// directions: a fast consumer is over-provisioned by it, a slow one is left
// behind. This package measures instead of assuming. It owns:
//
//   - the rate estimator (Estimate.Step): from the offset deltas between two
//     polls of a Kafka consumer group (or a Redis stream), a smoothed
//     production rate (quick to follow a step), consumption rate, and the
//     rate one consumer sustains while it has a backlog, robust to
//     irregular polling, idle periods, rebalances, offset resets, stalls
//     and commits that arrive in steps;
//   - lag in time (Marks.Age): per partition, how long ago the oldest
//     unconsumed message arrived, from a fixed-size history of when the log
//     end passed each offset, thinned as it ages so that it reaches back
//     hours: a poll apart for the newest seconds, coarser further back;
//   - the sizing rule (Replicas): the fewest consumers that keep up with
//     production and drain the current backlog within a lag target, capped
//     at the partition count, with a human-readable reason;
//   - the drain-time law (DrainReplicas, DrainCapacity): the fewest
//     consumers that meet a latency goal counting what uneven partition
//     assignment, pod start-up and rebalance pauses cost, moving only to
//     even splits of the partitions and scaling down only with a margin;
//     benchmarks/quality measures it in closed loop;
//   - what the law reads besides the estimate: the latest interval's
//     production rate (LatestProduceRate), a member count with rebalances
//     bridged (HeldMembers), and recent arrivals (Recent) from which
//     BurstFloor forecasts the capacity that absorbs bursts that recur.
//
// It does not poll anything, detect stuck consumers, or publish metrics:
// callers read offsets, decide what a stall means, and send Replicas' answer
// to the HPA (as a replica count with target 1, and behavior.scaleUp
// tolerance 0 so that one extra replica is not swallowed by the 10% band).
//
// Everything is pure: functions over values and an explicit now. There is no
// clock, no goroutine, no I/O and no global state; Estimate is a value and
// Step returns a new one, so callers may keep, copy and compare estimates
// freely. A Marks must not be shared between goroutines without a lock.
//
// The package imports only the standard library; its simulation tests
// replay the HPA's decisions with pkg/hpa.
package lagtime
