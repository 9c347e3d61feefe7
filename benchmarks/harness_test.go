package benchmarks

import (
	"context"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// The tests check the benchmarks' harnesses on small sizes, so that a broken
// harness fails `go test` quickly instead of producing wrong figures. They
// assert counts and values, never timings.

// TestGetMetricsHarness: 20 triggers over 10 groups are served the seeded
// lag through the real server, and the engine holds 10 queries.
func TestGetMetricsHarness(t *testing.T) {
	c := startLagCluster(t, "orders", 12, 100)
	env, err := startScaler(20, groups, func(i int) map[string]string { return triggerMetadata(c, i) },
		func(i int) float64 { return c.lag(i % groups) }) // warms and checks every trigger
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range env.reqs {
		if err := env.call(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrokerRequestsHarness: the brokers see the shared poll of 20
// ScaledObjects cost exactly what the poll of 10 costs (one OffsetFetch per
// group), while per-ScaledObject clients send one OffsetFetch each.
func TestBrokerRequestsHarness(t *testing.T) {
	c := startLagCluster(t, "events", 30, 20)
	bc := countRequests(c)
	shared := func(n int) requestCounts {
		qs, gs := sharedQueries(t, parseTriggers(t, c, n))
		u := openUpstream(t, qs[0])
		checkResults(t, c, u.Poll(context.Background(), pollTime, qs), gs)
		before := bc.snapshot()
		checkResults(t, c, u.Poll(context.Background(), pollTime, qs), gs)
		return bc.snapshot().sub(before)
	}
	// New connections (ApiVersions) come with the client's connection
	// pool, and kafka-go's transport refreshes its broker list (a Metadata
	// request naming no topic) from a background goroutine whose timer is
	// random in [0, MetadataTTL): it lands inside a measured poll now and
	// then (CI saw one). The poll's own requests must not move.
	ten, twenty := shared(10), shared(20)
	ten[reqAPIVersions], twenty[reqAPIVersions] = 0, 0
	ten[reqMetadataBrokersOnly], twenty[reqMetadataBrokersOnly] = 0, 0
	if ten != twenty {
		t.Errorf("one shared poll: %v requests for 10 ScaledObjects, %v for 20; want equal", ten, twenty)
	}
	if ten[reqOffsetFetch] != groups || ten[reqListOffsets] < 1 || ten[reqListOffsets] > 3 || ten[reqOther] != 0 {
		t.Errorf("one shared poll: %v, want %d OffsetFetch, 1 to 3 ListOffsets and nothing unexpected", ten, groups)
	}

	trs := parseTriggers(t, c, 20)
	ups := openPerScaledObject(t, trs)
	before := bc.snapshot()
	for i, u := range ups {
		checkResults(t, c, u.Poll(context.Background(), pollTime, []sources.Query{trs[i].Query()}), []int{i % groups})
	}
	if d := bc.snapshot().sub(before); d[reqOffsetFetch] != 20 {
		t.Errorf("per-ScaledObject polls of 20: %v, want 20 OffsetFetch", d)
	}
}

// TestGetMetricsRedisHarness: the Redis variant serves each list's length.
func TestGetMetricsRedisHarness(t *testing.T) {
	rs := startRedisLists(t)
	env, err := startScaler(20, redisLists, func(i int) map[string]string { return redisMetadata(rs.Addr, i) }, redisWant)
	if err != nil {
		t.Fatal(err)
	}
	defer env.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range env.reqs {
		if err := env.call(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
}
