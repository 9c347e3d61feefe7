package main

import (
	"math"
	"slices"
	"sort"
	"strings"
)

// Suites as they appear in Run.Suite.
const (
	statsSuiteKafka = "kafka"
	statsSuiteRedis = "redis"
	// statsSuiteKafkaBig is the kafka suite on a broker that also holds
	// Settings.FillerTopics empty topics: a big cluster.
	statsSuiteKafkaBig = "kafka-big"
)

// quantile returns the q-quantile (0 ≤ q ≤ 1, clamped) of sorted, which
// must be sorted ascending. It interpolates linearly between the two closest
// ranks (Hyndman & Fan type 7, the default of R and NumPy): with
// h = (n-1)·q, the result is x[⌊h⌋] + (h-⌊h⌋)·(x[⌊h⌋+1]-x[⌊h⌋]). So
// quantile(x, 0.5) of an even-length x is the mean of the middle two. NaN
// for an empty slice or a NaN q.
func quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 || math.IsNaN(q) {
		return math.NaN()
	}
	q = min(max(q, 0), 1)
	h := float64(n-1) * q
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// median returns the median of xs, ignoring NaNs, without modifying xs.
// NaN when there is nothing left.
func median(xs []float64) float64 {
	s := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			s = append(s, x)
		}
	}
	slices.Sort(s)
	return quantile(s, 0.5)
}

// runKey identifies a configuration; its repeats share a runKey.
type runKey struct {
	Suite string
	Impl  string
	Scale int
}

// runGroups holds the repeats of each configuration, in input order.
type runGroups map[runKey][]Run

// groupRuns groups runs by (Suite, Impl, Scale).
func groupRuns(runs []Run) runGroups {
	g := runGroups{}
	for _, r := range runs {
		k := runKey{r.Suite, r.Impl, r.Scale}
		g[k] = append(g[k], r)
	}
	return g
}

// medianOver returns, per (Suite, Impl, Scale), the median over repeats of
// metric.
func medianOver(runs []Run, metric func(Run) float64) map[runKey]float64 {
	out := map[runKey]float64{}
	for k, rs := range groupRuns(runs) {
		out[k] = medianRuns(rs, metric)
	}
	return out
}

// medianRuns is the median of metric over rs; NaN when rs is empty.
func medianRuns(rs []Run, metric func(Run) float64) float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = metric(r)
	}
	return median(xs)
}

// med is the median over the repeats of one configuration; NaN if it was
// not measured.
func (g runGroups) med(suite, impl string, scale int, metric func(Run) float64) float64 {
	return medianRuns(g[runKey{suite, impl, scale}], metric)
}

// has reports whether the configuration was measured at all.
func (g runGroups) has(suite, impl string, scale int) bool {
	return len(g[runKey{suite, impl, scale}]) > 0
}

// impls lists the implementations measured in suite: those of order first,
// in that order, then any others sorted by name.
func (g runGroups) impls(suite string, order []string) []string {
	seen := map[string]bool{}
	for k := range g {
		if k.Suite == suite {
			seen[k.Impl] = true
		}
	}
	return orderedKeys(seen, order)
}

// scales returns want followed by any other scale measured in suite, sorted
// and without duplicates.
func (g runGroups) scales(suite string, want []int) []int {
	set := map[int]bool{}
	for _, s := range want {
		set[s] = true
	}
	for k := range g {
		if k.Suite == suite {
			set[k.Scale] = true
		}
	}
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Ints(out)
	return out
}

// spread is a median together with the min and max of the N values it
// summarises. N == 0 means nothing was measured; the fields are NaN then.
type spread struct {
	Median, Min, Max float64
	N                int
}

func (s spread) ok() bool { return s.N > 0 }

// spreadOf summarises xs, ignoring NaNs and infinities.
func spreadOf(xs []float64) spread {
	var s []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return spread{math.NaN(), math.NaN(), math.NaN(), 0}
	}
	slices.Sort(s)
	return spread{quantile(s, 0.5), s[0], s[len(s)-1], len(s)}
}

// pairedRatio compares peer with ours at the same (suite, scale): for every
// Repeat measured for both it takes metric(peer run) / metric(our run), and
// returns the median of those ratios with their min and max. All metrics we
// compare this way are "lower is better" (requests, memory, goroutines,
// latency, allocations), so the ratio is peer/ours and a value above 1 means
// ours (Tide) is better by that factor. Repeats where the ratio is undefined
// (ours is 0 or a value is NaN) are left out; N counts the pairs kept. If a
// Repeat occurs twice for one impl, the later run wins.
func pairedRatio(runs []Run, suite string, scale int, peer, ours string, metric func(Run) float64) spread {
	p, o := map[int]Run{}, map[int]Run{}
	for _, r := range runs {
		if r.Suite != suite || r.Scale != scale {
			continue
		}
		switch r.Impl {
		case peer:
			p[r.Repeat] = r
		case ours:
			o[r.Repeat] = r
		}
	}
	var ratios []float64
	for rep, pr := range p {
		or, ok := o[rep]
		if !ok {
			continue
		}
		den := metric(or)
		if den == 0 {
			continue
		}
		ratios = append(ratios, metric(pr)/den)
	}
	return spreadOf(ratios)
}

// isTideImpl reports whether impl is one of Tide's (it then has a separate
// scaler process whose footprint is in Run.Server).
func isTideImpl(impl string) bool { return strings.HasPrefix(impl, ImplTide) }

// isPeer reports whether impl is one of KEDA's built-in scalers, the
// implementations Tide's goals are measured against.
func isPeer(impl string) bool { return strings.HasPrefix(impl, "keda-") }

// attributable is the footprint the scalers themselves are responsible for.
// For KEDA's built-in scalers it is the driver (KEDA's process) minus the
// idle driver; for Tide it is Tide's scaler process (Server) plus the driver
// minus the idle driver (the gRPC external-scaler clients KEDA holds). Each
// difference is floored at 0 so that noise never makes a footprint negative.
// PeakRSS and Heap are treated the same way as RSS and Goroutines, each
// against the idle driver's field of the same name.
func attributable(r Run, idle Footprint) Footprint {
	f := Footprint{
		RSS:        max(r.Driver.RSS-idle.RSS, 0),
		PeakRSS:    max(r.Driver.PeakRSS-idle.PeakRSS, 0),
		Heap:       max(r.Driver.Heap-idle.Heap, 0),
		Goroutines: max(r.Driver.Goroutines-idle.Goroutines, 0),
	}
	if isTideImpl(r.Impl) {
		f.RSS += r.Server.RSS
		f.PeakRSS += r.Server.PeakRSS
		f.Heap += r.Server.Heap
		f.Goroutines += r.Server.Goroutines
	}
	return f
}

// Per-run metrics used by the report and the plots.

func metricObservations(r Run) float64 { return float64(r.Observations) }
func metricErrors(r Run) float64       { return float64(r.Errors) }
func metricP50(r Run) float64          { return r.P50 }
func metricP99(r Run) float64          { return r.P99 }
func metricDriverAllocs(r Run) float64 { return r.Allocs }
func metricServerAllocs(r Run) float64 { return r.ServerAllocs }
func metricPerObs(r Run) float64       { return r.PerObs }
func metricPerMinute(r Run) float64    { return r.PerMinute }
func metricConns(r Run) float64        { return float64(r.Conns) }

// metricAllocs is allocations per observation in both processes: the driver
// and, for Tide, the scaler (ServerAllocs is 0 for KEDA's scalers).
func metricAllocs(r Run) float64 { return r.Allocs + r.ServerAllocs }

// metricRSSMiB is the attributable RSS in MiB.
func metricRSSMiB(idle Footprint) func(Run) float64 {
	return func(r Run) float64 { return float64(attributable(r, idle).RSS) / (1 << 20) }
}

// metricGoroutines is the attributable number of goroutines.
func metricGoroutines(idle Footprint) func(Run) float64 {
	return func(r Run) float64 { return float64(attributable(r, idle).Goroutines) }
}

// metricKindPerMinute is the rate of one kind of upstream request; window is
// used when the run did not record its own.
func metricKindPerMinute(kind string, window float64) func(Run) float64 {
	return func(r Run) float64 {
		w := r.Window
		if w <= 0 {
			w = window
		}
		if w <= 0 {
			return math.NaN()
		}
		return float64(r.Requests[kind]) * 60 / w
	}
}

// activationStats summarises the successful trials of each implementation.
func activationStats(as []ActivationResult) (impls []string, stats map[string]spread, errs map[string]int) {
	vals := map[string][]float64{}
	errs = map[string]int{}
	set := map[string]bool{}
	for _, a := range as {
		set[a.Impl] = true
		if a.Error != "" {
			errs[a.Impl]++
			continue
		}
		vals[a.Impl] = append(vals[a.Impl], a.Seconds)
	}
	stats = map[string]spread{}
	for i, v := range vals {
		stats[i] = spreadOf(v)
	}
	return orderedKeys(set, reportActivationOrder), stats, errs
}

// orderedKeys returns the keys of set: those in order first, then the rest
// sorted.
func orderedKeys(set map[string]bool, order []string) []string {
	var out, rest []string
	for _, k := range order {
		if set[k] {
			out = append(out, k)
		}
	}
	for k := range set {
		if !slices.Contains(order, k) {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
