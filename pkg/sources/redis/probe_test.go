package redis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestProbeWakesOnlyTheQueriesOfKeysThatAppear: 250 idle lists cost three
// EXISTS per probe; a list that gains an entry wakes the queries that read
// it and no other (its chunk is asked again key by key); keys with
// entries, pattern members and streams are never probed, and only queries
// whose keys are all still missing are vouched for (Quiet).
func TestProbeWakesOnlyTheQueriesOfKeysThatAppear(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	var trs []*Trigger
	for i := range 250 {
		trs = append(trs, mustParse(t, srv, map[string]string{"listName": fmt.Sprintf("k%d", i)}))
	}
	pair := mustParse(t, srv, map[string]string{"listName": "k7,k8"}) // shares k7
	busy := mustParse(t, srv, map[string]string{"listName": "busy"})  // has entries
	glob := mustParse(t, srv, map[string]string{"listName": "g*"})    // a pattern
	strm := mustParse(t, srv, map[string]string{"stream": "s"})       // a stream
	srv.Do("RPUSH", "busy", "x")
	srv.Do("XADD", "s", "*", "f", "v")
	all := append(trs, pair, busy, glob, strm)
	u := open(t, trs[0])
	for _, r := range pollAt(t, u, t0, all...) {
		mustSample(t, r)
	}
	qs := make([]sources.Query, len(all))
	for i, tr := range all {
		qs[i] = tr.Query()
	}
	var quiet int
	probe := func() ([]int, map[string]int64) {
		t.Helper()
		before := commandStats(t, srv)
		wake, err := u.Probe(ctxT(t), t0, qs)
		if err != nil {
			t.Fatalf("Probe: %v", err)
		}
		after := commandStats(t, srv)
		for k, v := range before {
			after[k] -= v
		}
		delete(after, "rpush")
		for k, v := range after {
			if v == 0 {
				delete(after, k)
			}
		}
		var woken []int
		quiet = 0
		for i, w := range wake {
			switch w {
			case sources.Wake:
				woken = append(woken, i)
			case sources.Quiet:
				quiet++
				if i > 250 {
					t.Errorf("query %d (busy, pattern or stream) judged Quiet; want Unjudged", i)
				}
			}
		}
		return woken, after
	}

	woken, cmds := probe()
	if len(woken) != 0 || len(cmds) != 1 || cmds["exists"] != 3 {
		t.Errorf("quiet probe: woke %v with %v; want no wake, exactly 3 EXISTS", woken, cmds)
	}
	if quiet != 251 {
		t.Errorf("%d queries Quiet; want the 251 whose keys are all missing", quiet)
	}
	srv.Do("RPUSH", "k7", "x")
	srv.Do("RPUSH", "k123", "x")
	srv.Do("RPUSH", "g1", "x") // a new pattern match: left to the poll
	woken, cmds = probe()
	if want := []int{7, 123, 250}; fmt.Sprint(woken) != fmt.Sprint(want) {
		t.Errorf("woke queries %v; want %v (k7's, k123's and the pair's)", woken, want)
	}
	if len(cmds) != 1 || cmds["exists"] != 3+200 {
		t.Errorf("probe with news sent %v; want 203 EXISTS (3 chunks, then the two chunks with news key by key)", cmds)
	}
}

// TestProbeErrorWakesNothing: a server that does not answer fails the
// probe with an error naming it, and wakes nothing.
func TestProbeErrorWakesNothing(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	tr := mustParse(t, srv, map[string]string{"listName": "q"})
	u := open(t, tr)
	mustSample(t, pollAt(t, u, t0, tr)[0])
	srv.Kill()
	wake, err := u.Probe(ctxT(t), t0, []sources.Query{tr.Query()})
	if err == nil || !strings.Contains(err.Error(), "activation probe") || !strings.Contains(err.Error(), srv.Addr) {
		t.Fatalf("Probe with the server down: %v; want an activation probe error naming %s", err, srv.Addr)
	}
	if wake[0] != sources.Unjudged {
		t.Errorf("a failed probe judged the query %v; want Unjudged", wake[0])
	}
}

// TestProbeClusterOneExistsPerKey: in cluster mode every idle key has its
// own EXISTS (a multi-key one must stay in one hash slot), and the probe
// still wakes the right query.
func TestProbeClusterOneExistsPerKey(t *testing.T) {
	c := testredis.StartCluster(t, 3)
	var trs []*Trigger
	var qs []sources.Query
	for i := range 30 {
		tr := mustParse(t, nil, map[string]string{"redisType": "cluster", "addresses": strings.Join(c.Addrs(), ","),
			"listName": fmt.Sprintf("c%d", i)})
		trs, qs = append(trs, tr), append(qs, tr.Query())
	}
	u := open(t, trs[0])
	for _, r := range pollAt(t, u, t0, trs...) {
		mustSample(t, r)
	}
	if err := c.Client().RPush(ctxT(t), "c17", "x").Err(); err != nil {
		t.Fatal(err)
	}
	before := u.Stats()
	wake, err := u.Probe(ctxT(t), t0, qs)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range wake {
		if (w == sources.Wake) != (i == 17) {
			t.Errorf("query %d woken %v; want only 17", i, w)
		}
	}
	if d := delta(before, u.Stats()); d.Commands != 30 {
		t.Errorf("cluster probe sent %d commands; want 30 (one EXISTS per key)", d.Commands)
	}
}

// TestProbeWakesWatcherThroughEngine: the engine, polling every hour and
// probing every 20 ms, tells the watcher of an empty list that it gained an
// entry, and its probes never read a list that has entries.
func TestProbeWakesWatcherThroughEngine(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	idle := mustParse(t, srv, map[string]string{"listName": "idle"})
	busy := mustParse(t, srv, map[string]string{"listName": "busy"})
	srv.Do("RPUSH", "busy", "x", "y")
	m := metrics.New(prometheus.NewRegistry())
	e := sources.NewEngine(sources.Options{PollInterval: time.Hour, ProbeInterval: 20 * time.Millisecond,
		FirstSampleTimeout: 10 * time.Second, Metrics: m})
	t.Cleanup(func() { _ = e.Close() })
	updates, stop, err := e.Watch(idle.Query())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	waitUpdate(t, updates)
	if s, err := e.Read(ctxT(t), busy.Query()); err != nil || s.Activity != 2 {
		t.Fatalf("busy: %v, %v; want activity 2", s.Activity, err)
	}
	before := commandStats(t, srv)
	probes := func() float64 {
		return testutil.ToFloat64(m.Probes.WithLabelValues(idle.Query().Upstream().Name))
	}
	for probes() < 5 { // an external event: the engine's own ticker
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-updates:
		t.Fatal("a quiet probe woke the idle trigger")
	default:
	}
	srv.Do("RPUSH", "idle", "x")
	waitUpdate(t, updates)
	if s, err := e.Read(ctxT(t), idle.Query()); err != nil || s.Activity != 1 {
		t.Fatalf("idle after the wake: %v, %v; want activity 1", s.Activity, err)
	}
	after := commandStats(t, srv)
	if n := after["llen"] - before["llen"]; n != 1 {
		t.Errorf("%d LLEN while probing; want 1 (the woken poll of idle; busy is never probed)", n)
	}
}

func waitUpdate(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-ctxT(t).Done():
		t.Fatal("no update")
	}
}
