// Package quality is a closed-loop harness that measures scaling quality:
// it replays traffic traces through a model of a Kafka consumer fleet and
// each scaling policy (KEDA's kafka scaler, Tide's kafka trigger in its
// modes, the drain-time law), with the real HPA model (pkg/hpa) and KEDA's
// activation and cooldown in the loop, and reports goal attainment (the
// share of time the oldest unprocessed message is within the trace's
// latency goal), replica-minutes, scale events, rebalances and the worst
// lag age, as a table, SVG plots and a goals check.
//
// Time is a loop variable (one second per step); nothing sleeps, nothing
// runs concurrently, and a run is deterministic for a trace (its seed).
//
// It owns the trace format (Parse), the fleet model (Fleet), KEDA's
// scaler arithmetic and executor as v2.21 has them, the policies, the
// report and the plots. It may import Tide's pure packages (pkg/hpa,
// pkg/lagtime), the Kafka trigger's parsing and evaluation
// (pkg/sources/kafka: Parse and Evaluate only, no I/O) and the standard
// library; nothing imports it but its command (cmd).
package quality
