package lagtime

import (
	"fmt"
	"math"
	"time"
)

// ceilSlack is the relative slack under which a quotient counts as integral.
// Rates are float64 averages, so 3 replicas' worth of work can come out as
// 3.0000000000000004; rounding that up to 4 would add a replica for float
// noise. A billionth of a replica is far below anything a rate measures.
const ceilSlack = 1e-9

// maxReplicas bounds an uncapped answer: the HPA's counts are int32.
const maxReplicas = math.MaxInt32

// Replicas returns the fewest replicas n with
//
//	n * e.PerConsumerRate >= e.ProduceRate + lag/target
//
// that is, enough consumers to keep up with production and to drain the
// current lag (messages) within target. n is capped at capacity (the
// partition count: a consumer beyond it gets no partition; 0 means no cap)
// and is at least 1 when lag > 0 or ProduceRate > 0, so work is never left
// with nobody to do it. With no lag and no production it is 0.
//
// ok is false when the estimate cannot answer, and the caller should fall
// back to a message-count threshold: PerConsumerRate unknown (0), or any
// input that is not a usable number. Precisely:
//   - lag NaN or +Inf, ProduceRate NaN or +Inf, PerConsumerRate not finite
//     and positive, target <= 0: ok false, n 0. An infinite input is
//     garbage, not a demand for every partition.
//   - a negative lag or ProduceRate (neither can be) is read as 0.
//   - a negative capacity is read as 0 (no cap); an uncapped answer
//     saturates at MaxInt32, the HPA's own limit.
//
// reason explains the answer in one line, for logs and events, e.g.
// "produce 120.0/s + drain 3000 in 30s = 220.0/s at 25.0/s per consumer -> 9".
func Replicas(lag float64, e Estimate, target time.Duration, capacity int) (n int, ok bool, reason string) {
	produce, per := e.ProduceRate, e.PerConsumerRate
	switch {
	case math.IsNaN(lag) || math.IsInf(lag, 1):
		return 0, false, fmt.Sprintf("lag %v is not a number of messages", lag)
	case math.IsNaN(produce) || math.IsInf(produce, 1):
		return 0, false, fmt.Sprintf("produce rate %v is not a rate", produce)
	case per == 0:
		return 0, false, "per-consumer rate not observed yet"
	case !(per > 0) || math.IsInf(per, 1):
		return 0, false, fmt.Sprintf("per-consumer rate %v is not a rate", per)
	case target <= 0:
		return 0, false, fmt.Sprintf("lag target %v is not positive", target)
	}
	lag, produce = max(lag, 0), max(produce, 0)
	capacity = max(capacity, 0)

	need := produce + lag/target.Seconds()
	q := need / per
	switch {
	case need == 0:
		n = 0
	case q >= maxReplicas:
		// Also catches +Inf from a need beyond float64 range.
		n = maxReplicas
	default:
		n = max(int(math.Ceil(q-ceilSlack*max(q, 1))), 1)
	}
	reason = fmt.Sprintf("produce %.1f/s + drain %.0f in %v = %.1f/s at %.1f/s per consumer -> %d",
		produce, lag, target, need, per, n)
	if capacity > 0 && n > capacity {
		n = capacity
		reason += fmt.Sprintf(", capped at %d partitions", capacity)
	}
	return n, true, reason
}
