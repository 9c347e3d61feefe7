package hpa

import "math"

// conversions are the ways KEDA releases have turned a float into the milli
// quantity the HPA reads. A scaler cannot tell which KEDA it talks to, so a
// cap must hold under every one of them.
var conversions = [...]func(float64) int64{Milli, MilliRounded}

// CapValue returns the largest metric value whose AverageValue proposal does
// not exceed n replicas when the HPA recomputes from scratch: from 0 status
// replicas, or from any count once the ratio is outside tolerance. It holds
// whichever KEDA conversion is in use, truncating (Milli) or rounding
// (MilliRounded), each applied to the value and to the target alike.
//
// A scaler that knows more replicas are useless (a Kafka consumer group cannot
// use more consumers than partitions) publishes min(value, CapValue(n, target)).
// Capping at n*target is not enough: with 10 partitions, target 10 and lag 105
// the HPA proposes ceil(10.5) = 11, while the capped value gives exactly 10.
//
// Under truncation the cap proposes exactly n and Milli(CapValue(n, t)) is
// n*Milli(t), whenever that is below 2^51 milli (values up to about 2.2e12).
// The largest value under truncation alone (100.00099999999999 for n=10, t=10)
// would be sent as 100.001 by a rounding KEDA and propose 11, so the cap stops
// at the first rounding boundary instead (100.00049999999999 here). One milli
// above the cap proposes n+1 under truncation, and under rounding too unless
// the two conversions disagree on the target. Callers who want a round
// number for display should show float64(n*Milli(t))/1000.
//
// Edge cases:
//   - a target that converts to 0 or less under every conversion (below
//     0.0005, NaN, negative) returns +Inf: the API server rejects such a
//     target and AverageValueReplicas keeps the current count, so no value
//     caps anything. A conversion under which only the target is invalid (a
//     target of 0.0007 truncates to 0 but rounds to 1m) is ignored, as that
//     KEDA could not have created the HPA.
//   - n <= 0 returns 0. Any value below 0.0005 also proposes 0, but KEDA's
//     activation compares the raw float, and only 0 means "idle" to both.
//   - when no finite value can exceed n (a huge target, or n >= MaxInt32
//     where the HPA clamps), the result is +Inf, meaning "no cap needed".
func CapValue(n int, target float64) float64 {
	var tms [len(conversions)]int64
	valid := false
	for i, conv := range conversions {
		tms[i] = conv(target)
		valid = valid || tms[i] > 0
	}
	if !valid {
		return math.Inf(1)
	}
	if n <= 0 {
		return 0
	}
	fits := func(v float64) bool {
		for i, conv := range conversions {
			if tms[i] <= 0 {
				continue
			}
			if int64(AverageValueReplicas(conv(v), tms[i], 0, DefaultTolerances)) > int64(n) {
				return false
			}
		}
		return true
	}
	// For non-negative float64s, bit patterns sort like values, and fits is
	// monotone over the finite ones (each conversion and the ceil are
	// non-decreasing), so a binary search over the bits finds the exact
	// boundary in at most 64 steps. +Inf is left out because MilliRounded
	// sends it as 0. Stepping from float64(n*tm)/1000 would not do: that
	// decimal can sit a milli off either way.
	lo, hi := math.Float64bits(0), math.Float64bits(math.MaxFloat64)
	if fits(math.MaxFloat64) {
		return math.Inf(1)
	}
	// Invariant: fits(lo) (0 proposes 0 replicas) and !fits(hi).
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fits(math.Float64frombits(mid)) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Float64frombits(lo)
}
