package inference

import (
	"math"
	"slices"
	"time"
)

// bucket is one cumulative histogram bucket: count observations <= upper.
type bucket struct {
	upper, count float64
}

// Reasons a windowed percentile has no value. None of them is a 0: a
// latency nobody observed is unknown, not instant.
const (
	reasonNoObservations = "no observations in the window"
	reasonNoInf          = "no +Inf bucket"
	reasonOnlyInf        = "only the +Inf bucket: no bound to interpolate"
	reasonNoSeries       = "no histogram series on any scraped pod"
)

// quantile is Prometheus' histogram_quantile(q, buckets) (promql's
// bucketQuantile): buckets are cumulative and may come unsorted, equal
// upper bounds are merged, a count lower than the bucket below it is raised
// to it (non-monotonic input after summing pods with different layouts),
// the rank q × total is located by linear interpolation inside its bucket
// (the lowest bucket starts at 0 unless its bound is <= 0), and a rank in
// the +Inf bucket returns the highest finite bound. ok is false, with the
// reason, when there is no value: no +Inf bucket, only the +Inf bucket, or
// no observations. q outside [0, 1] is clamped by the caller.
func quantile(q float64, in []bucket) (v float64, reason string, ok bool) {
	bs := slices.Clone(in)
	slices.SortFunc(bs, func(a, b bucket) int {
		switch {
		case a.upper < b.upper:
			return -1
		case a.upper > b.upper:
			return 1
		}
		return 0
	})
	merged := bs[:0]
	for _, b := range bs {
		if n := len(merged); n > 0 && merged[n-1].upper == b.upper {
			merged[n-1].count += b.count
			continue
		}
		merged = append(merged, b)
	}
	bs = merged
	if len(bs) == 0 || !math.IsInf(bs[len(bs)-1].upper, 1) {
		return 0, reasonNoInf, false
	}
	if len(bs) < 2 {
		return 0, reasonOnlyInf, false
	}
	for i := 1; i < len(bs); i++ {
		bs[i].count = max(bs[i].count, bs[i-1].count)
	}
	total := bs[len(bs)-1].count
	if total <= 0 {
		return 0, reasonNoObservations, false
	}
	rank := q * total
	b := slices.IndexFunc(bs, func(x bucket) bool { return x.count >= rank })
	switch {
	case b == len(bs)-1:
		return bs[len(bs)-2].upper, "", true
	case b == 0 && bs[0].upper <= 0:
		return bs[0].upper, "", true
	}
	start, end, count := 0.0, bs[b].upper, bs[b].count
	if b > 0 {
		start = bs[b-1].upper
		count -= bs[b-1].count
		rank -= bs[b-1].count
	}
	return start + (end-start)*(rank/count), "", true
}

// histSeen is the last cumulative reading of one pod's histogram.
type histSeen struct {
	counts map[float64]float64 // by upper bound
	at     time.Time
}

// histWindow keeps, per wall-clock second, the bucket increases of one
// histogram summed over every pod: the windowed percentile is the quantile
// of their sum over the window, what histogram_quantile(q, sum by (le)
// (increase(x_bucket[w]))) computes from a Prometheus server. Pods are
// handled like the request counter's (countRequests): a pod seen for the
// first time only sets a baseline; a bucket that went backwards, or a
// bucket layout that changed, is a restart and sets a new baseline; a pod
// that vanished simply stops adding; a pod back from failed scrapes adds
// the observations of the whole gap in the second it is read again.
type histWindow struct {
	secs  []int64
	delta []map[float64]float64
	pods  map[string]histSeen
}

func newHistWindow(seconds int) *histWindow {
	w := &histWindow{secs: make([]int64, seconds), delta: make([]map[float64]float64, seconds), pods: map[string]histSeen{}}
	for i := range w.secs {
		w.secs[i] = math.MinInt64
	}
	return w
}

// observe folds one pod's cumulative buckets read at now. reset is true
// when the reading started a new baseline over an older one.
func (w *histWindow) observe(now time.Time, pod string, counts map[float64]float64) (reset bool) {
	prev, ok := w.pods[pod]
	w.pods[pod] = histSeen{counts, now}
	if !ok || !now.After(prev.at) {
		return false
	}
	d, ok := increase(prev.counts, counts)
	if !ok {
		return true
	}
	sec := now.Unix()
	i := int((sec%int64(len(w.secs)) + int64(len(w.secs))) % int64(len(w.secs)))
	if w.secs[i] != sec {
		w.secs[i], w.delta[i] = sec, map[float64]float64{}
	}
	for le, n := range d {
		w.delta[i][le] += n
	}
	return false
}

// increase is cur - prev per bucket; ok is false for a reset: a bucket
// that went backwards or a layout that changed.
func increase(prev, cur map[float64]float64) (map[float64]float64, bool) {
	if len(prev) != len(cur) {
		return nil, false
	}
	d := make(map[float64]float64, len(cur))
	for le, n := range cur {
		p, ok := prev[le]
		if !ok || n < p {
			return nil, false
		}
		d[le] = n - p
	}
	return d, true
}

// forget drops the baselines of pods not read since before cutoff.
func (w *histWindow) forget(cutoff time.Time) {
	for name, s := range w.pods {
		if s.at.Before(cutoff) {
			delete(w.pods, name)
		}
	}
}

// sum is the bucket increases over the last ceil(d) seconds up to now's.
func (w *histWindow) sum(now time.Time, d time.Duration) []bucket {
	n := max(int64((d+time.Second-1)/time.Second), 1)
	acc := map[float64]float64{}
	for sec := now.Unix() - n + 1; sec <= now.Unix(); sec++ {
		i := int((sec%int64(len(w.secs)) + int64(len(w.secs))) % int64(len(w.secs)))
		if w.secs[i] != sec {
			continue
		}
		for le, c := range w.delta[i] {
			acc[le] += c
		}
	}
	out := make([]bucket, 0, len(acc))
	for le, c := range acc {
		out = append(out, bucket{le, c})
	}
	return out
}

// percentile is the windowed q-quantile over the last d, or the reason
// there is none.
func (w *histWindow) percentile(now time.Time, d time.Duration, q float64) (float64, string, bool) {
	bs := w.sum(now, d)
	if len(bs) == 0 {
		return 0, reasonNoObservations, false
	}
	return quantile(q, bs)
}
