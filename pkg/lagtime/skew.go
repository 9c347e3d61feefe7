package lagtime

import (
	"slices"
	"time"
)

// PartLoad is one partition's part of a consumer group's load: its lag and
// its recent arrival rate (Marks.Rate over SpreadWindow).
type PartLoad struct {
	Lag, Rate float64
}

// SpreadWindow is how far back a partition's arrival rate is measured for
// the law's skew sizing: long enough that a poll's noise averages out,
// short enough to follow a change of key distribution within a minute.
const SpreadWindow = time.Minute

// skew is how unevenly lag and arrivals lie over P partitions: for the
// busiest member of n consumers, which holds k = ceil(P/n) partitions, the
// most it can be given is the k largest lags and the k largest arrival
// rates (whatever the assignor). rate[k] and lag[k] are that member's load
// relative to an even split (k/P of the total): 1 when the load is even,
// more when it is skewed, never less (the k largest are at least the
// average k).
type skew struct {
	rate, lag []float64 // indexed by k, 1..P; nil: even
}

// newSkew reads parts; nil or a length other than partitions (or no
// partitions) means even. Negative and non-finite entries count as 0.
func newSkew(parts []PartLoad, partitions int) skew {
	if partitions <= 0 || len(parts) != partitions {
		return skew{}
	}
	top := func(v func(PartLoad) float64) []float64 {
		xs := make([]float64, 0, len(parts))
		total := 0.0
		for _, p := range parts {
			x := v(p)
			if !(x > 0) || x > 1e300 {
				x = 0
			}
			xs = append(xs, x)
			total += x
		}
		if total == 0 {
			return nil
		}
		slices.SortFunc(xs, func(a, b float64) int { return -cmpFloat(a, b) })
		out := make([]float64, partitions+1)
		sum := 0.0
		for k := 1; k <= partitions; k++ {
			sum += xs[k-1]
			out[k] = max(sum/total*float64(partitions)/float64(k), 1)
		}
		return out
	}
	return skew{rate: top(func(p PartLoad) float64 { return p.Rate }), lag: top(func(p PartLoad) float64 { return p.Lag })}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// factors returns the busiest member's rate and lag factors for n
// consumers on partitions partitions: 1, 1 when even or unknown.
func (s skew) factors(n, partitions int) (rate, lag float64) {
	rate, lag = 1, 1
	if partitions <= 0 || n <= 0 {
		return rate, lag
	}
	k := (partitions + min(n, partitions) - 1) / min(n, partitions)
	if s.rate != nil {
		rate = s.rate[k]
	}
	if s.lag != nil {
		lag = s.lag[k]
	}
	return rate, lag
}

// need is the group rate n consumers must have, on an even split, for
// their busiest member to take arrivals at in and drain backlog within
// goal seconds: in + backlog/goal when even, its parts scaled by the
// busiest member's factors when skewed.
func (s skew) need(n, partitions int, in, backlog, goal float64) float64 {
	fr, fl := s.factors(n, partitions)
	if fr == 1 && fl == 1 {
		return in + max(backlog, 0)/goal
	}
	return in*fr + max(backlog, 0)*fl/goal
}

// Rate returns the partition's arrival rate over the window before now:
// the log end's growth since now-window (interpolated between marks as
// Age does), over window; over the history held when it is shorter. ok is
// false with fewer than two marks or no time between them.
func (m *Marks) Rate(now time.Time, window time.Duration) (rate float64, ok bool) {
	if m.n < 2 || window <= 0 {
		return 0, false
	}
	from := now.Add(-window).UnixNano()
	newest := m.marks[m.n-1].logEnd
	if oldest := &m.marks[0]; from <= oldest.until {
		from = max(from, oldest.at)
		span := float64(now.UnixNano() - from)
		if span <= 0 {
			return 0, false
		}
		return float64(newest-oldest.logEnd) / span * float64(time.Second), true
	}
	// The log end at from: the last mark seen by then, or between the
	// last sighting of one mark and the first of the next.
	at := newest
	for i := m.n - 1; i > 0; i-- {
		a, b := &m.marks[i-1], &m.marks[i]
		if from >= b.at {
			at = b.logEnd
			break
		}
		if from > a.until {
			frac := float64(from-a.until) / float64(b.at-a.until)
			at = a.logEnd + int64(frac*float64(b.logEnd-a.logEnd))
			break
		}
		at = a.logEnd
	}
	return float64(newest-at) / window.Seconds(), true
}
