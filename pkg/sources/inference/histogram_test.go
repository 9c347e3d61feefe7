package inference

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var inf = math.Inf(1)

// quantileCase is one known input of histogram_quantile.
type quantileCase struct {
	name   string
	q      float64
	in     []bucket
	want   float64
	reason string
}

var qbase = []bucket{{0.1, 10}, {0.5, 30}, {1, 40}, {inf, 40}}

var quantileCases = []quantileCase{
	{"median interpolates inside its bucket", 0.5, qbase, 0.3, ""},
	{"p90", 0.9, qbase, 0.8, ""},
	{"p100 is the top finite bound reached", 1, qbase, 1, ""},
	{"p0 is the lowest bucket's start", 0, qbase, 0, ""},
	{"rank in +Inf returns the highest finite bound", 0.9, []bucket{{0.1, 10}, {inf, 20}}, 0.1, ""},
	{"lowest bucket starts at 0", 0.5, []bucket{{1, 10}, {inf, 10}}, 0.5, ""},
	{"a non-positive lowest bound is returned as is", 0.25, []bucket{{-1, 5}, {inf, 10}}, -1, ""},
	{"unsorted input", 0.5, []bucket{{inf, 40}, {0.5, 30}, {0.1, 10}, {1, 40}}, 0.3, ""},
	{"equal bounds are merged (summed pods)", 0.5, []bucket{{0.1, 5}, {0.1, 5}, {0.5, 15}, {0.5, 15}, {1, 20}, {1, 20}, {inf, 20}, {inf, 20}}, 0.3, ""},
	{"non-monotonic counts are raised", 0.6, []bucket{{0.1, 10}, {0.5, 5}, {1, 20}, {inf, 20}}, 0.6, ""},
	{"missing buckets: the gap is one wide bucket", 0.75, []bucket{{0.1, 10}, {10, 20}, {inf, 20}}, 0.1 + 9.9*0.5, ""},
	{"no +Inf bucket", 0.5, []bucket{{0.1, 10}, {1, 20}}, 0, reasonNoInf},
	{"only +Inf", 0.5, []bucket{{inf, 10}}, 0, reasonOnlyInf},
	{"no buckets", 0.5, nil, 0, reasonNoInf},
	{"zero observations is no value, not 0", 0.5, []bucket{{0.1, 0}, {inf, 0}}, 0, reasonNoObservations},
}

// TestQuantile: histogram_quantile's results on known inputs, worked by
// hand from promql's bucketQuantile (TestQuantilePromtoolParity checks them
// against Prometheus itself), and the cases with no value.
func TestQuantile(t *testing.T) {
	for _, c := range quantileCases {
		t.Run(c.name, func(t *testing.T) {
			v, reason, ok := quantile(c.q, c.in)
			if reason != c.reason || ok != (c.reason == "") {
				t.Fatalf("quantile = %v, %q, %v; want reason %q", v, reason, ok, c.reason)
			}
			if ok && math.Abs(v-c.want) > 1e-12 {
				t.Errorf("quantile = %v; want %v", v, c.want)
			}
		})
	}
}

// TestQuantileProperties: on random monotonic histograms the quantile is
// monotonic in q and stays within [0, highest finite bound]. Seeded, so
// it is a property test without fuzzing.
func TestQuantileProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(12)
		bs := make([]bucket, 0, n+1)
		upper, count := 0.0, 0.0
		for range n {
			upper += r.Float64() * 2
			count += float64(r.IntN(5))
			bs = append(bs, bucket{upper, count})
		}
		bs = append(bs, bucket{inf, count + float64(r.IntN(3))})
		prev := -1.0
		for q := 0.0; q <= 1; q += 0.05 {
			v, _, ok := quantile(q, bs)
			if !ok {
				if bs[len(bs)-1].count != 0 {
					t.Fatalf("no value for %v at q=%v", bs, q)
				}
				break
			}
			if v < prev-1e-9 || v < 0 || v > upper+1e-9 {
				t.Fatalf("quantile(%v, %v) = %v after %v: not monotonic or out of [0, %v]", q, bs, v, prev, upper)
			}
			prev = v
		}
	}
}

func counts(kv ...float64) map[float64]float64 {
	m := map[float64]float64{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// TestHistWindow: bucket increases are summed over pods and the window;
// first readings, resets and changed layouts only set baselines; a
// vanished pod stops adding; a pod back from a missed scrape adds its gap.
func TestHistWindow(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	w := newHistWindow(12)
	if _, reason, ok := w.percentile(at(0), 10*time.Second, 0.5); ok || reason != reasonNoObservations {
		t.Fatalf("empty window: %q %v", reason, ok)
	}
	// first readings: baselines only, whatever the pods served before.
	w.observe(at(0), "a", counts(0.1, 100, 1, 200, inf, 200))
	w.observe(at(0), "b", counts(0.1, 7, 1, 7, inf, 7))
	if _, reason, ok := w.percentile(at(0), 10*time.Second, 0.5); ok {
		t.Fatalf("baselines counted: %q", reason)
	}
	// a: 10 fast; b: 10 slow.
	w.observe(at(1), "a", counts(0.1, 110, 1, 210, inf, 210))
	w.observe(at(1), "b", counts(0.1, 7, 1, 17, inf, 17))
	if v, _, _ := w.percentile(at(1), 10*time.Second, 0.5); math.Abs(v-0.1) > 1e-12 {
		t.Errorf("p50 over both pods = %v; want 0.1", v)
	}
	if v, _, _ := w.percentile(at(1), 10*time.Second, 0.75); math.Abs(v-0.55) > 1e-12 {
		t.Errorf("p75 over both pods = %v; want 0.55", v)
	}
	// a restarts (counts fall): a new baseline, no negative increase.
	if !w.observe(at(2), "a", counts(0.1, 1, 1, 1, inf, 1)) {
		t.Error("reset not reported")
	}
	// b's layout changes: a reset too.
	if !w.observe(at(2), "b", counts(0.5, 20, inf, 20)) {
		t.Error("layout change not reported")
	}
	if bs := w.sum(at(2), time.Second); len(bs) != 0 {
		t.Errorf("a reset added %v", bs)
	}
	// b vanishes; a misses scrapes 3..5 and comes back with 10 more fast ones.
	w.observe(at(6), "a", counts(0.1, 11, 1, 11, inf, 11))
	bs := w.sum(at(6), 10*time.Second)
	total := 0.0
	for _, b := range bs {
		if math.IsInf(b.upper, 1) {
			total = b.count
		}
	}
	if total != 30 {
		t.Errorf("window holds %v observations; want 30 (20 at 1 s, 10 from a's gap)", total)
	}
	// the window slides past them all.
	if _, reason, ok := w.percentile(at(20), 10*time.Second, 0.5); ok || reason != reasonNoObservations {
		t.Errorf("after the window: %q %v", reason, ok)
	}
	w.forget(at(6))
	if len(w.pods) != 1 {
		t.Errorf("forget kept %d pods; want a only", len(w.pods))
	}
}
