package lagtime

import "time"

// Arrival is the queue's log-end total (the sum of log end offsets over
// its partitions) at one time.
type Arrival struct {
	Time  time.Time
	Total int64
}

// RecentHorizon is how far back BurstFloor looks for the bursts it sizes
// for: the HPA's default scale-down window, the same judgement that demand
// seen within five minutes is likely to come back, and it bounds the time
// a floor holds capacity after the last burst. RecentKeep is how far back
// Recent keeps arrivals, for Recurring: three horizons, so that bursts
// recurring about every five minutes are seen to recur. RecentSpacing
// thins the marks, which bounds BurstFloor's pairwise scan.
const (
	RecentHorizon = 5 * time.Minute
	RecentKeep    = 3 * RecentHorizon
	RecentSpacing = 5 * time.Second
)

// Recent is a bounded history of arrivals, oldest first. The zero value is
// empty; Add returns a new Recent and never changes the one it is given
// (its slice may be shared with earlier results).
type Recent struct{ marks []Arrival }

// Add records total at now. The history restarts when the partition set
// changed (shape differs from the last Add's) or the total went backwards,
// because totals across it are not arrivals; now not after the newest
// mark is ignored, and the newest mark is replaced by the next while the
// one before it is within RecentSpacing of now, so kept marks are about
// RecentSpacing apart.
func (r Recent) Add(now time.Time, total int64, shapeChanged bool) Recent {
	n := len(r.marks)
	switch {
	case shapeChanged || (n > 0 && total < r.marks[n-1].Total):
		return Recent{marks: []Arrival{{now, total}}}
	case n > 0 && !now.After(r.marks[n-1].Time):
		return r
	}
	drop := 0
	for drop < n && now.Sub(r.marks[drop].Time) > RecentKeep {
		drop++
	}
	keep := r.marks[drop:]
	if len(keep) >= 2 && now.Sub(keep[len(keep)-2].Time) < RecentSpacing {
		keep = keep[:len(keep)-1]
	}
	out := make([]Arrival, 0, len(keep)+1)
	return Recent{marks: append(append(out, keep...), Arrival{now, total})}
}

// Marks returns the history, oldest first; callers must not change it.
// A nil *Recent has none.
func (r *Recent) Marks() []Arrival {
	if r == nil {
		return nil
	}
	return r.marks
}

// BurstFloor is the consumption rate at which a burst like every recent
// one, recurring, stays within the goal without a scale-up: for each
// interval of length d with average arrival rate a, a*(d+s)/(d+s+goal),
// the most over all intervals; s is a scale-up's delay (pod start plus
// rebalance pause). With that capacity present, the backlog an interval
// builds plus what a further s of it would add drains within the goal,
// which is what DrainReplicas' burst check asks before it keeps the count
// through a burst. It is the delay bound of a constant-rate server (the
// backlog of any interval, a*d - c*d, is at most c*goal), with s added on
// both sides so that a burst that turns out longer still leaves time to
// scale up.
//
// The intervals are those within RecentHorizon of the newest mark, and
// the whole of a burst that is partly within it: a burst counts fully
// until it has left the horizon entirely, so the floor drops in one step
// rather than stepping down (each step a rebalance) as its marks leave.
// It is 0 unless the bursts recur: marks (all of them, RecentKeep) must
// show at least two separate bursts (see Recurring), and 0 for fewer than
// four marks or a goal that is not positive. A single burst says nothing
// about the next, and holding capacity after it only adds a scale-down
// step on the way back.
func BurstFloor(marks []Arrival, goal, s time.Duration) float64 {
	rates, peak := intervalRates(marks)
	if goal <= 0 || !recurring(rates, peak) {
		return 0
	}
	g, sd := goal.Seconds(), max(s, 0).Seconds()
	from := 0
	for from < len(marks) && marks[len(marks)-1].Time.Sub(marks[from].Time) > RecentHorizon {
		from++
	}
	for from > 0 && rates[from-1] > peak/4 {
		from-- // the rest of a burst the horizon cuts
	}
	best := 0.0
	for i := from; i < len(marks); i++ {
		for j := i + 1; j < len(marks); j++ {
			d := marks[j].Time.Sub(marks[i].Time).Seconds()
			n := float64(marks[j].Total - marks[i].Total)
			if d <= 0 || n <= 0 {
				continue
			}
			best = max(best, n/d*(d+sd)/(d+sd+g))
		}
	}
	return best
}

// Recurring reports whether marks show at least two bursts: runs of
// consecutive intervals whose arrival rate is above half the busiest
// interval's, separated by at least one interval below a quarter of it
// (the gap between the two thresholds keeps noise around one of them from
// counting as a second burst).
func Recurring(marks []Arrival) bool { return recurring(intervalRates(marks)) }

// intervalRates returns the arrival rate of each interval between
// consecutive marks (rates[k] from marks[k] to marks[k+1]) and the highest;
// nil for fewer than four marks, too few to tell two bursts apart.
func intervalRates(marks []Arrival) (rates []float64, peak float64) {
	if len(marks) < 4 {
		return nil, 0
	}
	rates = make([]float64, 0, len(marks)-1)
	for i := 1; i < len(marks); i++ {
		d := marks[i].Time.Sub(marks[i-1].Time).Seconds()
		r := float64(marks[i].Total-marks[i-1].Total) / d
		rates = append(rates, r)
		peak = max(peak, r)
	}
	return rates, peak
}

func recurring(rates []float64, peak float64) bool {
	runs, in := 0, false
	for _, r := range rates {
		switch {
		case r > peak/2 && !in:
			runs, in = runs+1, true
		case r < peak/4:
			in = false
		}
	}
	return runs >= 2
}
