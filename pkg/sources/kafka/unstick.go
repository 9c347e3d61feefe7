package kafka

import (
	"fmt"
	"math"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/sources"
)

// unstick moves a value capped at n partitions so that the HPA, holding
// the group's members replicas, leaves them for n (or for as close to n as
// its arithmetic allows) where the cap alone would leave it where it is.
//
// The HPA keeps its count while value/(target*count) is within its 10%
// tolerance, and otherwise proposes ceil(value/target). The cap proposes n
// from scratch, but from 11 consumers on 12 partitions its ratio is 12/11,
// inside the band: the HPA stays at 11 for good, and 11 consumers on 12
// partitions drain the oldest messages no faster than 6 (one of them holds
// two partitions). No value proposes exactly 12 from 11: leaving the band
// needs value > 1.1*11*target, whose ceil is 13. So from a count inside
// the band below n the value is raised just out of the band (the HPA's
// maxReplicas, often the partition count, clamps the proposal; otherwise
// one consumer idles), and from a count above n that the cap keeps (13 of
// 12: ratio 12/13) it is lowered just out of the band when ceil lands on n
// there (it does for 12 partitions, not for 30: from 31 the HPA can only
// go to 28, from where the raise leads back to 31). The search honours both of KEDA's milli conversions, as hpa.CapValue
// does. members 0 (unknown) leaves m alone.
func (t *Trigger) unstick(m sources.Measurement, n, members int) sources.Measurement {
	if members <= 0 || members == n || n <= 0 {
		return m
	}
	target := t.lagThreshold
	proposals := func(v float64) (lo, hi int32) {
		lo, hi = math.MaxInt32, 0
		for _, conv := range []func(float64) int64{hpa.Milli, hpa.MilliRounded} {
			if tm := conv(target); tm > 0 {
				r := hpa.AverageValueReplicas(conv(v), tm, int32(members), hpa.DefaultTolerances)
				lo, hi = min(lo, r), max(hi, r)
			}
		}
		return lo, hi
	}
	if lo, hi := proposals(m.Value); lo != int32(members) && hi != int32(members) {
		return m // the cap already moves the HPA
	}
	var v float64
	var ok bool
	if members < n {
		// Smallest value that leaves members under every conversion.
		v, ok = searchBits(m.Value, 2*m.Value+2*target, func(v float64) bool { lo, _ := proposals(v); return lo > int32(members) })
	} else {
		// Largest value whose proposal is at most n under every conversion.
		v, ok = searchBits(0, m.Value, func(v float64) bool { _, hi := proposals(v); return hi > int32(n) })
		v = math.Float64frombits(math.Float64bits(v) - 1)
		// Only to n exactly: below n the count would sit in the band
		// again (31 consumers of 30 partitions can only go to 28, from
		// where the raise goes back to 31), so the idle ones stay.
		if lo, hi := proposals(v); ok && (lo != int32(n) || hi != int32(n)) {
			return m
		}
	}
	if !ok {
		return m
	}
	m.Value = v
	m.Reason = fmt.Sprintf("capped at %d partitions, moved out of the HPA's tolerance from %d consumers", n, members)
	return m
}

// searchBits returns the smallest v in (lo, hi] for which above(v) holds,
// given that it does not hold at lo and is monotone; ok is false when it
// does not hold at hi either. Non-negative float64s sort like their bits.
func searchBits(lo, hi float64, above func(float64) bool) (float64, bool) {
	if !(lo >= 0) || !(hi > lo) || math.IsInf(hi, 0) || above(lo) || !above(hi) {
		return 0, false
	}
	l, h := math.Float64bits(lo), math.Float64bits(hi)
	for h-l > 1 {
		mid := l + (h-l)/2
		if above(math.Float64frombits(mid)) {
			h = mid
		} else {
			l = mid
		}
	}
	return math.Float64frombits(h), true
}
