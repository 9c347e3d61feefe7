package inference

import (
	"math"
	"time"
)

// ring holds one value per wall-clock second for the last len(secs)
// seconds: the 1 s buckets the windows average over. A slot is valid only
// while it still holds the second it was written for, so a ring never needs
// clearing: old seconds are simply overwritten.
type ring struct {
	secs []int64 // the unix second each slot holds
	sum  []float64
	cnt  []int32 // observations added to the slot; 0: no data
}

func newRing(seconds int) *ring {
	r := &ring{secs: make([]int64, seconds), sum: make([]float64, seconds), cnt: make([]int32, seconds)}
	for i := range r.secs {
		r.secs[i] = math.MinInt64
	}
	return r
}

func (r *ring) index(sec int64) int {
	n := int64(len(r.secs))
	return int((sec%n + n) % n)
}

// slot returns the index of sec, resetting it if it held an older second.
func (r *ring) slot(sec int64) int {
	i := r.index(sec)
	if r.secs[i] != sec {
		r.secs[i], r.sum[i], r.cnt[i] = sec, 0, 0
	}
	return i
}

// add records one observation v in second sec. A second older than the
// ring (or overwritten since) is ignored.
func (r *ring) add(sec int64, v float64) {
	if r.secs[r.index(sec)] > sec {
		return
	}
	i := r.slot(sec)
	r.sum[i] += v
	r.cnt[i]++
}

// get returns the slot of sec without resetting anything.
func (r *ring) get(sec int64) (sum float64, cnt int32) {
	i := r.index(sec)
	if r.secs[i] != sec {
		return 0, 0
	}
	return r.sum[i], r.cnt[i]
}

// spread distributes total over the interval (from, to], each second
// getting the share of the interval it overlaps. A counter increase is
// known only over the interval between two scrapes: spreading it keeps the
// per-second counts right when a scrape was missed, instead of piling a
// gap's requests into one bucket (a spike) and leaving zeros before it.
func (r *ring) spread(from, to time.Time, total float64) {
	d := to.Sub(from)
	if d <= 0 {
		return
	}
	oldest := to.Add(-time.Duration(len(r.secs)) * time.Second)
	if from.Before(oldest) {
		total *= float64(to.Sub(oldest)) / float64(d) // the older part would fall off the ring
		from, d = oldest, to.Sub(oldest)
	}
	for t := from; t.Before(to); {
		sec := t.Unix()
		next := time.Unix(sec+1, 0)
		if next.After(to) {
			next = to
		}
		r.add(sec, total*float64(next.Sub(t))/float64(d))
		t = next
	}
}

// mean is the average, over the last ceil(d) one-second buckets up to
// now's, of each bucket's mean observation. Buckets without data are
// skipped, not zeros: a missing scrape is missing data, not an idle server.
// ok is false when no bucket in the window holds data.
func (r *ring) mean(now time.Time, d time.Duration) (avg float64, ok bool) {
	n := int64((d + time.Second - 1) / time.Second)
	var total float64
	used := 0
	for sec := now.Unix() - max(n, 1) + 1; sec <= now.Unix(); sec++ {
		if s, c := r.get(sec); c > 0 {
			total += s / float64(c)
			used++
		}
	}
	if used == 0 {
		return 0, false
	}
	return total / float64(used), true
}

// rate is the count recorded in (now-d, now] divided by the part of that
// interval after since (the first observation): a partial window averages
// only over the time it has seen, like Knative's. Counts are spread over
// continuous time (see spread), so the bucket the window's edge cuts counts
// by the fraction inside the window.
func (r *ring) rate(now time.Time, d time.Duration, since time.Time) float64 {
	start := now.Add(-d)
	if since.After(start) {
		start = since
	}
	span := now.Sub(start).Seconds()
	if span <= 0 {
		return 0
	}
	span = max(span, 1) // at least one bucket: a few requests in 50 ms are not a surge
	var total float64
	for sec := start.Unix(); sec <= now.Unix(); sec++ {
		s, _ := r.get(sec)
		if lo := time.Unix(sec, 0); lo.Before(start) {
			s *= time.Unix(sec+1, 0).Sub(start).Seconds()
		}
		total += s
	}
	return total / span
}
