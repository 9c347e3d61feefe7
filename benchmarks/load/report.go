package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// quantile of ds (0 < q ≤ 1), nearest rank.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func µs(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond)) }

// pollStats is the poll-duration histogram of one kind of upstream (kafka,
// redis, scrape), summed over its upstreams, between two scrapes.
type pollStats struct {
	kind   string
	count  float64
	sum    float64
	bounds []float64 // upper bounds, ascending, without +Inf
	cum    []float64 // cumulative counts per bound
}

// upstreamKind is the scheme of an upstream label: kafka, redis, scrape.
func upstreamKind(label string) string {
	k, _, _ := strings.Cut(label, "://")
	return k
}

// pollDeltas compares the tide_poll_duration_seconds histograms of two
// scrapes, by kind of upstream.
func pollDeltas(before, after families) []*pollStats {
	by := map[string]*pollStats{}
	add := func(f families, sign float64) {
		mf := f["tide_poll_duration_seconds"]
		if mf == nil {
			return
		}
		for _, m := range mf.GetMetric() {
			up := ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "upstream" {
					up = lp.GetValue()
				}
			}
			kind := upstreamKind(up)
			ps := by[kind]
			if ps == nil {
				ps = &pollStats{kind: kind}
				by[kind] = ps
			}
			h := m.GetHistogram()
			ps.count += sign * float64(h.GetSampleCount())
			ps.sum += sign * h.GetSampleSum()
			for i, b := range h.GetBucket() {
				if math.IsInf(b.GetUpperBound(), 1) {
					continue
				}
				if len(ps.bounds) <= i {
					ps.bounds = append(ps.bounds, b.GetUpperBound())
					ps.cum = append(ps.cum, 0)
				}
				ps.cum[i] += sign * float64(b.GetCumulativeCount())
			}
		}
	}
	add(after, 1)
	add(before, -1)
	out := make([]*pollStats, 0, len(by))
	for _, ps := range by {
		out = append(out, ps)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].kind < out[j].kind })
	return out
}

// quantile interpolates within the bucket holding the q-th observation, as
// PromQL's histogram_quantile does; above the last bound it is that bound.
func (ps *pollStats) quantile(q float64) float64 {
	if ps.count <= 0 {
		return math.NaN()
	}
	rank := q * ps.count
	lower, below := 0.0, 0.0
	for i, upper := range ps.bounds {
		if ps.cum[i] >= rank {
			in := ps.cum[i] - below
			if in <= 0 {
				return upper
			}
			return lower + (upper-lower)*(rank-below)/in
		}
		lower, below = upper, ps.cum[i]
	}
	return lower
}

func ms(seconds float64) string {
	if math.IsNaN(seconds) {
		return "–"
	}
	return fmt.Sprintf("%.1f", seconds*1000)
}

// drain is what SIGTERM did.
type drain struct {
	streams      int
	endedOK      int
	endedOther   map[string]int // by status code
	late         int            // ended OK but after --shutdown-timeout
	open         int            // never ended
	lastStreamAt time.Duration  // SIGTERM to the last stream's end
	exitAfter    time.Duration  // SIGTERM to the process's exit
	exitCode     int            // -1: did not exit in time
}

// result is everything the report prints.
type result struct {
	cfg          config
	build        time.Duration
	warmTriggers time.Duration // every trigger's first GetMetrics
	warmStreams  time.Duration // opening every stream to its first message
	cpu          string
	readings     [3]reading // start, after warm-up, end
	gm, health   *latencies
	window       time.Duration
	polls        []*pollStats
	streamMsgs   int64
	windowMsgs   int64 // stream messages within the measured window
	drain        drain
	checks       []check
}

type check struct {
	what string
	ok   bool
	note string
}

func (r *result) failed() []check {
	var out []check
	for _, c := range r.checks {
		if !c.ok {
			out = append(out, c)
		}
	}
	return out
}

func (r *result) write(w io.Writer) {
	c := r.cfg
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p("## Tide under load: %d triggers, %d StreamIsActive streams, %s", c.triggers, c.streams, c.duration)
	p("")
	p("%d triggers (distinct ScaledObjects, each its own metricName) split over kafka, redis and inference; "+
		"%d distinct queries per source. %d streams over %d client connections (--max-streams-per-client %d). "+
		"GetMetrics of every trigger every %s and a grpc.health.v1 Check at the same rate (%.0f calls/s each), "+
		"on the first connection. Scaler built in %s. Warm-up: every trigger's first GetMetrics (32 at a time) %s, "+
		"opening every stream (created 256 at a time) until all had their first message %s.",
		c.triggers, c.queries, c.streams, c.conns, c.maxStreamsPerClient, c.period,
		float64(c.triggers)/c.period.Seconds(), r.build.Round(time.Second), r.warmTriggers.Round(time.Millisecond),
		r.warmStreams.Round(time.Millisecond))
	p("")
	p("| scaler | start | after warm-up | end |")
	p("|---|---|---|---|")
	rd := r.readings
	p("| RSS MiB | %.1f | %.1f | %.1f |", mib(rd[0].rss), mib(rd[1].rss), mib(rd[2].rss))
	p("| Go heap in use MiB | %.1f | %.1f | %.1f |", rd[0].heap/(1<<20), rd[1].heap/(1<<20), rd[2].heap/(1<<20))
	p("| GC goal MiB (2 × live heap after the last GC) | %.1f | %.1f | %.1f |", rd[0].gcGoal/(1<<20), rd[1].gcGoal/(1<<20), rd[2].gcGoal/(1<<20))
	p("| goroutines | %.0f | %.0f | %.0f |", rd[0].goroutines, rd[1].goroutines, rd[2].goroutines)
	p("| triggers held | %.0f | %.0f | %.0f |", rd[0].triggers, rd[1].triggers, rd[2].triggers)
	p("| open StreamIsActive | %.0f | %.0f | %.0f |", rd[0].streams, rd[1].streams, rd[2].streams)
	p("")
	p("Client-side latency over the %s window. %s", r.window.Round(time.Second), r.cpu)
	p("")
	p("| RPC | calls | errors | wrong values | p50 µs | p99 µs | max µs |")
	p("|---|---|---|---|---|---|---|")
	for _, l := range []struct {
		name string
		l    *latencies
	}{{"GetMetrics", r.gm}, {"health Check (baseline)", r.health}} {
		p("| %s | %d | %d | %d | %s | %s | %s |", l.name, len(l.l.d), l.l.errs, l.l.wrong,
			µs(quantile(l.l.d, .5)), µs(quantile(l.l.d, .99)), µs(quantile(l.l.d, 1)))
	}
	if hp50, hp99 := quantile(r.health.d, .5), quantile(r.health.d, .99); hp50 > 0 && hp99 > 0 {
		p("| GetMetrics ÷ health | | | | %.2f | %.2f | |",
			float64(quantile(r.gm.d, .5))/float64(hp50), float64(quantile(r.gm.d, .99))/float64(hp99))
	}
	p("")
	p("Poll cycles in the window (tide_poll_duration_seconds bucket deltas, summed over upstreams of a kind):")
	p("")
	p("| upstream | upstreams | queries | polls | p50 ms | p99 ms | mean ms |")
	p("|---|---|---|---|---|---|---|")
	for _, ps := range r.polls {
		mean := math.NaN()
		if ps.count > 0 {
			mean = ps.sum / ps.count
		}
		// One Kafka cluster and one Redis hold all their queries; every
		// model's pods are an upstream of their own (their labels coincide:
		// scrape://<host>-and-1-more), each scraped every second.
		ups, qs := 1, c.queries
		if ps.kind == "scrape" {
			ups = c.queries
		}
		p("| %s | %d | %d | %.0f | %s | %s | %s |", ps.kind, ups, qs, ps.count,
			ms(ps.quantile(.5)), ms(ps.quantile(.99)), ms(mean))
	}
	p("")
	d := r.drain
	p("StreamIsActive messages received: %d, of which %d in the window (%.0f/s). SIGTERM with --shutdown-timeout %s:",
		r.streamMsgs, r.windowMsgs, float64(r.windowMsgs)/r.window.Seconds(), c.shutdownTimeout)
	p("")
	p("| streams | ended OK | ended otherwise | ended OK after the timeout | still open | last stream ended | process exited | exit code |")
	p("|---|---|---|---|---|---|---|---|")
	p("| %d | %d | %d %s | %d | %d | %s | %s | %d |", d.streams, d.endedOK, sumCounts(d.endedOther), fmtCounts(d.endedOther),
		d.late, d.open, d.lastStreamAt.Round(time.Millisecond), d.exitAfter.Round(time.Millisecond), d.exitCode)
	p("")
	p("| check | result |")
	p("|---|---|")
	for _, ch := range r.checks {
		res := "ok"
		if !ch.ok {
			res = "**FAILED**"
		}
		if ch.note != "" {
			res += " (" + ch.note + ")"
		}
		p("| %s | %s |", ch.what, res)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s: %d", k, v))
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, ", ") + ")"
}
