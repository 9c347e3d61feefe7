package kafka

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// caughtUp creates topic with n partitions holding 2 records each and
// commits group at the log end: lag 0.
func caughtUp(t *testing.T, c *testCluster, topic string, n int32, groups ...string) {
	t.Helper()
	c.createTopic(t, n, topic)
	counts, offs := map[int32]int{}, map[int32]int64{}
	for p := range n {
		counts[p], offs[p] = 2, 2
	}
	c.produce(t, topic, counts)
	for _, g := range groups {
		c.commit(t, g, map[string]map[int32]int64{topic: offs})
	}
}

func probe(t *testing.T, u *Upstream, trs ...*Trigger) []bool {
	t.Helper()
	qs := make([]sources.Query, len(trs))
	for i, tr := range trs {
		qs[i] = tr.Query()
	}
	verdicts, err := u.Probe(ctxT(t), t0, qs)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	wake := make([]bool, len(verdicts))
	for i, v := range verdicts {
		wake[i] = v == sources.Wake
	}
	return wake
}

// TestProbeWakesOnProduce: a produce to a partition of an idle query wakes
// it at the next probe; a probe with nothing new, or after the poll that
// counted the message, wakes nothing.
func TestProbeWakesOnProduce(t *testing.T) {
	c := startCluster(t)
	caughtUp(t, c, "t", 3, "g")
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "lagThreshold": "10"})
	u := open(t, tr)
	if s := mustSample(t, pollAt(t, u, tr)[0]); s.Activity != 0 {
		t.Fatalf("activity %v; want 0", s.Activity)
	}
	if w := probe(t, u, tr); w[0] {
		t.Fatal("probe woke a query with no new message")
	}
	c.produce(t, "t", map[int32]int{1: 1})
	if w := probe(t, u, tr); !w[0] {
		t.Fatal("probe did not wake the query after a produce")
	}
	if s := mustSample(t, pollAt(t, u, tr)[0]); s.Activity != 1 {
		t.Fatalf("activity after the wake %v; want 1", s.Activity)
	}
	if w := probe(t, u, tr); w[0] {
		t.Fatal("probe woke again for a message the last poll counted")
	}
}

// TestProbeOneListOffsetsPerLeader: a probe sends one ListOffsets per
// partition leader and nothing else (no OffsetFetch, DescribeGroups or
// Metadata), the same for 20 queries over 3 groups as for one.
func TestProbeOneListOffsetsPerLeader(t *testing.T) {
	c := startCluster(t)
	groups := []string{"ga", "gb", "gc"}
	caughtUp(t, c, "big", 30, groups...)
	var trs []*Trigger
	for i := range 20 {
		trs = append(trs, mustParse(t, c, map[string]string{"consumerGroup": groups[i%3], "topic": "big"}))
	}
	u := open(t, trs[0])
	for _, r := range pollAt(t, u, trs...) {
		mustSample(t, r)
	}
	bc := countRequests(c, int16(kmsg.ListOffsets), int16(kmsg.OffsetFetch), int16(kmsg.DescribeGroups))
	before := u.Stats()
	probe(t, u, trs[0])
	one, perNode := bc.snapshot(int16(kmsg.ListOffsets))
	probe(t, u, trs...)
	all, _ := bc.snapshot(int16(kmsg.ListOffsets))
	after := u.Stats()
	if one < 1 || one > 3 {
		t.Errorf("probe of 1 query: %d ListOffsets, want 1 to 3 (one per leader)", one)
	}
	for node, v := range perNode {
		if v != 1 {
			t.Errorf("broker %d saw %d ListOffsets in one probe, want 1", node, v)
		}
	}
	if all-one != one {
		t.Errorf("probe of 20 queries: %d ListOffsets, want %d as for one query", all-one, one)
	}
	if d := after.ListOffsetsRequests - before.ListOffsetsRequests; d != int64(all) {
		t.Errorf("upstream counted %d ListOffsets, brokers saw %d", d, all)
	}
	for _, k := range []kmsg.Key{kmsg.OffsetFetch, kmsg.DescribeGroups} {
		if n, _ := bc.snapshot(int16(k)); n != 0 {
			t.Errorf("probes sent %d %s, want 0", n, k.Name())
		}
	}
	if d := after.MetadataRequests - before.MetadataRequests; d != 0 {
		t.Errorf("probes sent %d Metadata, want 0", d)
	}
	if d := after.Probes - before.Probes; d != 2 {
		t.Errorf("Stats.Probes moved by %d, want 2", d)
	}
}

// TestProbeErrorWakesNothing: when the leaders cannot be read the probe is
// an error naming the brokers and wakes nothing; once they answer again
// the produce made meanwhile wakes the query.
func TestProbeErrorWakesNothing(t *testing.T) {
	c := startCluster(t)
	caughtUp(t, c, "t", 3, "g")
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t"})
	u := open(t, tr)
	mustSample(t, pollAt(t, u, tr)[0])
	c.produce(t, "t", map[int32]int{0: 1, 1: 1, 2: 1})
	lift, hits := dropKey(c, int16(kmsg.ListOffsets))
	wake, err := u.Probe(ctxT(t), t0, []sources.Query{tr.Query()})
	if err == nil || !strings.Contains(err.Error(), "brokers 127.0.0.1:") || !strings.Contains(err.Error(), "activation probe") {
		t.Errorf("probe err = %v; want an activation probe error naming the brokers", err)
	}
	if wake[0] != sources.Unjudged || hits() == 0 {
		t.Errorf("failed probe: verdict %v after %d dropped requests; want Unjudged (no wake, no vouching)", wake[0], hits())
	}
	lift()
	if w := probe(t, u, tr); !w[0] {
		t.Error("probe did not wake the query once the leaders answered")
	}
}

// TestProbeWakesWatcherThroughEngine: the engine, polling every hour and
// probing every 20 ms, tells the watcher of an idle trigger about a produce
// (the probe wakes a poll of that query alone), and its probes never read
// the partitions of an active trigger.
func TestProbeWakesWatcherThroughEngine(t *testing.T) {
	c := startCluster(t)
	caughtUp(t, c, "idle", 3, "gi")
	caughtUp(t, c, "busy", 3, "gb")
	c.produce(t, "busy", map[int32]int{0: 5})
	var busyReads atomic.Int64
	c.ControlKey(int16(kmsg.ListOffsets), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, tp := range r.(*kmsg.ListOffsetsRequest).Topics {
			if tp.Topic == "busy" {
				busyReads.Add(1)
			}
		}
		return nil, nil, false
	})
	m := metrics.New(prometheus.NewRegistry())
	e := sources.NewEngine(sources.Options{PollInterval: time.Hour, ProbeInterval: 20 * time.Millisecond,
		FirstSampleTimeout: 10 * time.Second, Metrics: m})
	t.Cleanup(func() { _ = e.Close() })
	idle := mustParse(t, c, map[string]string{"consumerGroup": "gi", "topic": "idle"})
	busy := mustParse(t, c, map[string]string{"consumerGroup": "gb", "topic": "busy"})
	updates, stop, err := e.Watch(idle.Query())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	waitFor(t, updates)
	if s, err := e.Read(ctxT(t), busy.Query()); err != nil || s.Activity != 5 {
		t.Fatalf("busy: %v, %v; want activity 5", s.Activity, err)
	}
	first := busyReads.Load() // one request per leader of busy's partitions
	probes := m.Probes.WithLabelValues(idle.Query().Upstream().Name)
	for testutil.ToFloat64(probes) < 5 { // an external event: the engine's own ticker
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-updates:
		t.Fatal("a quiet probe woke the idle trigger")
	default:
	}
	c.produce(t, "idle", map[int32]int{2: 1})
	waitFor(t, updates)
	if s, err := e.Read(ctxT(t), idle.Query()); err != nil || s.Activity != 1 {
		t.Fatalf("idle after the wake: %v, %v; want activity 1", s.Activity, err)
	}
	if n := busyReads.Load(); n != first {
		t.Errorf("busy's partitions read in %d requests; want %d (its first sample; never probed)", n, first)
	}
}

func waitFor(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-ctxT(t).Done():
		t.Fatal("no update")
	}
}
