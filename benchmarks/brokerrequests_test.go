package benchmarks

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
)

// pollTime is the poll time of every measured poll. Kept constant, topic
// metadata stays cached, as between the 30 s metadata refreshes of a running
// scaler; the README adds the refreshes per client.
var pollTime = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// BenchmarkBrokerRequestsPerPoll counts, at the brokers, the requests one
// poll of N ScaledObjects costs. The ScaledObjects are spread over 10
// consumer groups of one 30-partition topic on a 3-broker kfake cluster.
//
//   - tide: every trigger goes through one Engine, which keys queries by
//     cluster, group, topic and lag options (so the N triggers are 10
//     queries, checked against a real Engine's Stats) and polls them with
//     one Upstream.Poll per interval: exactly what is timed and counted.
//   - per-scaledobject (the baseline): every ScaledObject has its own
//     client and polls its own query, as a per-ScaledObject scaler does on
//     each observation. It is Tide's own batched poll code, unshared, so the
//     ratio isolates what sharing saves.
//
// "One poll" is one polling round of all N ScaledObjects: one Poll of the
// shared upstream for tide, N Polls for the baseline. Reported per poll:
// reqs/poll (all poll-driven requests) and each kind; clients (Kafka
// clients, each with its own metadata refreshes) and conns (the broker
// connections they opened, counted as ApiVersions requests);
// x-fewer-reqs on the tide line is baseline reqs/poll over tide reqs/poll,
// measured in the same process just before.
func BenchmarkBrokerRequestsPerPoll(b *testing.B) {
	c := startLagCluster(b, "events", 30, 20)
	bc := countRequests(c)
	for _, n := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("scaledobjects=%d", n), func(b *testing.B) {
			trs := parseTriggers(b, c, n)
			var baseline float64
			b.Run("per-scaledobject", func(b *testing.B) {
				opened := bc.snapshot()
				ups := openPerScaledObject(b, trs)
				d := measurePolls(b, bc, func() {
					for i, u := range ups {
						checkResults(b, c, u.Poll(context.Background(), pollTime, []sources.Query{trs[i].Query()}), []int{i % groups})
					}
				})
				baseline = reportRequests(b, d, len(ups), bc.snapshot().sub(opened)[reqAPIVersions])
			})
			b.Run("tide", func(b *testing.B) {
				qs, gs := sharedQueries(b, trs)
				opened := bc.snapshot()
				u := openUpstream(b, qs[0])
				checkResults(b, c, u.Poll(context.Background(), pollTime, qs), gs) // connections and metadata
				d := measurePolls(b, bc, func() {
					checkResults(b, c, u.Poll(context.Background(), pollTime, qs), gs)
				})
				tide := reportRequests(b, d, 1, bc.snapshot().sub(opened)[reqAPIVersions])
				b.ReportMetric(float64(len(qs)), "queries/poll")
				if baseline > 0 && tide > 0 {
					b.ReportMetric(baseline/tide, "x-fewer-reqs")
				}
			})
		})
	}
}

// parseTriggers parses ScaledObject i's trigger for i < n, with the
// metadata the GetMetrics benchmark sends.
func parseTriggers(tb testing.TB, c *lagCluster, n int) []*kafka.Trigger {
	tb.Helper()
	trs := make([]*kafka.Trigger, n)
	for i := range trs {
		tr, err := kafka.Parse(metadata.Metadata(triggerMetadata(c, i)), sources.Policy{})
		if err != nil {
			tb.Fatal(err)
		}
		trs[i] = tr
	}
	return trs
}

// measurePolls runs poll once per b.Loop iteration and returns what the
// brokers received per iteration, summed.
func measurePolls(b *testing.B, bc *brokerCounter, poll func()) requestCounts {
	before := bc.snapshot()
	for b.Loop() {
		poll()
	}
	return bc.snapshot().sub(before)
}

// reportRequests reports per-poll counts, the clients and the broker
// connections they opened (first poll and measured polls), and returns
// reqs/poll.
func reportRequests(b *testing.B, d requestCounts, clients int, conns int64) float64 {
	n := float64(b.N)
	total := float64(d.perPoll()) / n
	b.ReportMetric(total, "reqs/poll")
	b.ReportMetric(float64(d[reqFindCoordinator])/n, "findcoordinator/poll")
	b.ReportMetric(float64(d[reqOffsetFetch])/n, "offsetfetch/poll")
	b.ReportMetric(float64(d[reqListOffsets])/n, "listoffsets/poll")
	b.ReportMetric(float64(d[reqMetadata])/n, "metadata/poll")
	b.ReportMetric(float64(d[reqOther])/n, "other/poll")
	b.ReportMetric(float64(clients), "clients")
	b.ReportMetric(float64(conns), "conns")
	return total
}

// sharedQueries returns the queries one Engine holds for trs, in first-seen
// order, and the group index of each. It checks them against a real Engine:
// after reading every trigger it must hold one upstream and exactly these
// queries, which its poll loop then reads in one Upstream.Poll.
func sharedQueries(tb testing.TB, trs []*kafka.Trigger) ([]sources.Query, []int) {
	tb.Helper()
	var qs []sources.Query
	var gs []int
	seen := map[string]bool{}
	for i, tr := range trs {
		if q := tr.Query(); !seen[q.Key()] {
			seen[q.Key()] = true
			qs, gs = append(qs, q), append(gs, i%groups)
		}
	}
	eng := sources.NewEngine(sources.Options{
		PollInterval: time.Hour, // no background poll: only the first samples
		Metrics:      metrics.New(prometheus.NewRegistry()),
		Logger:       discard,
	})
	defer eng.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, tr := range trs {
		if _, err := eng.Read(ctx, tr.Query()); err != nil {
			tb.Fatal(err)
		}
	}
	if st := eng.Stats(); st.Upstreams != 1 || st.Queries != len(qs) {
		tb.Fatalf("engine holds %+v for %d triggers, want 1 upstream and %d queries", st, len(trs), len(qs))
	}
	return qs, gs
}

// openUpstream opens q's upstream and closes it at cleanup.
func openUpstream(tb testing.TB, q sources.Query) sources.Upstream {
	tb.Helper()
	u, err := q.Open()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = u.Close() })
	return u
}

// openPerScaledObject opens one upstream per trigger and polls each once
// (connections and metadata), 16 at a time.
func openPerScaledObject(tb testing.TB, trs []*kafka.Trigger) []sources.Upstream {
	tb.Helper()
	ups := make([]sources.Upstream, len(trs))
	for i, tr := range trs {
		ups[i] = openUpstream(tb, tr.Query())
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, len(trs))
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(trs); i = int(next.Add(1) - 1) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				errs[i] = ups[i].Poll(ctx, pollTime, []sources.Query{trs[i].Query()})[0].Err
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return ups
}

// checkResults fails unless result i is the lag of group gs[i].
func checkResults(tb testing.TB, c *lagCluster, rs []sources.Result, gs []int) {
	tb.Helper()
	if len(rs) != len(gs) {
		tb.Fatalf("%d results for %d queries", len(rs), len(gs))
	}
	for i, r := range rs {
		if r.Err != nil {
			tb.Fatal(r.Err)
		}
		if r.Sample.Value != c.lag(gs[i]) {
			tb.Fatalf("query of %s: lag %v, want %v", groupName(gs[i]), r.Sample.Value, c.lag(gs[i]))
		}
	}
}
