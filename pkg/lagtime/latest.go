package lagtime

import "time"

// LatestProduceRate is the arrival rate over the interval from prev to o
// alone, unsmoothed: what DrainReplicas judges a scale-down by (Backlog's
// LatestProduceRate). ok is false when the interval is not a rate for the
// same reasons Step skips one: no time between the two, a gap longer than
// DefaultMaxGap, a different partition set, or the log end going backwards.
func LatestProduceRate(prev, o Observation) (rate float64, ok bool) {
	dt := o.Time.Sub(prev.Time)
	if dt <= 0 || dt > DefaultMaxGap || o.Shape != prev.Shape || o.Produced < prev.Produced {
		return 0, false
	}
	return float64(o.Produced-prev.Produced) / dt.Seconds(), true
}

// MemberHold is how long HeldMembers keeps the last non-zero member count
// while a group shows none: a rebalance shows every member with an empty
// assignment for its pause (10 s or more, rarely a minute), and a law that
// read it as zero consumers would ask for a scale-up in every rebalance.
const MemberHold = time.Minute

// HeldMembers is a consumer group's member count with rebalances bridged:
// the count a poll shows when it is not 0, else the last non-zero count if
// it was seen within MemberHold. The zero value has seen nothing.
type HeldMembers struct {
	last int
	at   time.Time
}

// Observe folds the count n seen at now into h and returns the new h and
// the count to size from.
func (h HeldMembers) Observe(now time.Time, n int) (HeldMembers, int) {
	if n > 0 {
		return HeldMembers{last: n, at: now}, n
	}
	if h.last > 0 && now.Sub(h.at) <= MemberHold && !now.Before(h.at) {
		return h, h.last
	}
	return h, 0
}
