package redis

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/sources"
)

// polled is one poll an engine ran, in wall time.
type polled struct {
	engine     string
	start, end time.Time
	value      float64
	err        error
}

// pollLog records every poll of the upstreams opened through the queries
// it wraps, so a test sees each poll's outcome, not only the latest one a
// Read returns.
type pollLog struct {
	mu    sync.Mutex
	polls []polled
}

// wrap is a rig's wrap: q, with its upstream's polls recorded as engine's.
func (l *pollLog) wrap(engine string, q sources.Query) sources.Query {
	return loggedQuery{Query: q, log: l, engine: engine}
}

// since returns engine's polls that started at or after at, in order.
func (l *pollLog) since(engine string, at time.Time) []polled {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []polled
	for _, p := range l.polls {
		if p.engine == engine && !p.start.Before(at) {
			out = append(out, p)
		}
	}
	return out
}

type loggedQuery struct {
	sources.Query
	log    *pollLog
	engine string
}

func (q loggedQuery) Open() (sources.Upstream, error) {
	u, err := q.Query.Open()
	if err != nil {
		return nil, err
	}
	return loggedUpstream{Upstream: u, log: q.log, engine: q.engine}, nil
}

type loggedUpstream struct {
	sources.Upstream
	log    *pollLog
	engine string
}

// Poll polls the wrapped queries and records the first one's result.
func (u loggedUpstream) Poll(ctx context.Context, now time.Time, qs []sources.Query) []sources.Result {
	inner := make([]sources.Query, len(qs))
	for i, q := range qs {
		inner[i] = q
		if lq, ok := q.(loggedQuery); ok {
			inner[i] = lq.Query
		}
	}
	start := time.Now()
	res := u.Upstream.Poll(ctx, now, inner)
	p := polled{engine: u.engine, start: start, end: time.Now()}
	if len(res) > 0 {
		p.value, p.err = res[0].Sample.Value, res[0].Err
	}
	u.log.mu.Lock()
	u.log.polls = append(u.log.polls, p)
	u.log.mu.Unlock()
	return res
}

// newLoggedRig is newRig with every poll of both engines recorded.
func newLoggedRig(t *testing.T, tr *Trigger, want float64) (*rig, *pollLog) {
	t.Helper()
	l := &pollLog{}
	r := &rig{t: t, clk: testclock.New(t0), interval: failoverInterval, wrap: l.wrap}
	r.strict = r.start("strict", tr, 0, want)
	r.stale = r.start("stale", tr, failoverStale, want)
	return r, l
}

// firstPollAfter waits (bounded) until each engine has finished a poll
// that started at or after at, and returns those first polls.
func (r *rig) firstPollAfter(l *pollLog, what string, at time.Time) map[string]polled {
	r.t.Helper()
	out := map[string]polled{}
	deadline := time.Now().Add(failoverWait)
	for len(out) < 2 {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: no poll started after %v within %v", what, at.Format(time.StampMicro), failoverWait)
		}
		r.polls(what, 1)
		for _, v := range []*view{r.strict, r.stale} {
			if ps := l.since(v.name, at); len(ps) > 0 {
				out[v.name] = ps[0]
			}
		}
	}
	return out
}

// TestFailoverCluster: in a 3-master Redis Cluster with one replica each,
// the slot of a list changes master twice while the engines poll; every
// poll of both engines is recorded. First a manual CLUSTER FAILOVER on the
// replica: the old master answers MOVED and not one poll fails, from the
// failover command until the next fault. Then that new master is killed
// (SIGKILL) and the cluster promotes the old one back: while it
// reconfigures the strict engine answers Unavailable and the stale engine
// the last good value, never a zero; once the promoted node is a master
// (ROLE) that every live node's CLUSTER NODES shows healthy, the first
// poll that starts reads the exact value. That needs the slot map reloaded
// after the failed polls (Upstream.Poll): go-redis alone reloads it on
// MOVED, which a dead node never sends, or every 60 s. Goroutines and
// connections do not grow.
func TestFailoverCluster(t *testing.T) {
	record := processesGone(t)
	c := testredis.StartReplicatedCluster(t, 3, 2*time.Second)
	record(c.Nodes...)
	ctx := ctxT(t)
	const key, want = "q", 9
	for i := range want {
		if err := c.Client().RPush(ctx, key, i).Err(); err != nil {
			t.Fatal(err)
		}
	}
	m, err := c.NodeOf(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	replica, err := c.ReplicaOf(ctx, m, m)
	if err != nil {
		t.Fatal(err)
	}
	if acked := m.Do("WAIT", 1, 10000); acked != int64(1) {
		t.Fatalf("WAIT on %s: %v replicas have the list, want 1", m.Addr, acked)
	}
	tr := mustParse(t, nil, map[string]string{"redisType": "cluster",
		"addresses": strings.Join(c.Addrs(), ","), "listName": key})
	baseG := runtime.NumGoroutine()
	baseC, _ := connections(t, c.Nodes...)

	r, log := newLoggedRig(t, tr, want)
	r.polls("steady", 3)
	runningG := runtime.NumGoroutine()
	runningC, per := connections(t, c.Nodes...)
	t.Logf("before the faults: %d goroutines (%d without the engines), %d connections (%s; %d without the engines)",
		runningG, baseG, runningC, per, baseC)

	// 1. Manual failover: the replica takes the slot over, the old master
	// stays up as its replica and redirects.
	start := time.Now()
	replica.Do("CLUSTER", "FAILOVER")
	r.clk.Add(time.Second)
	converged := make(chan error, 1)
	go func() {
		if err := c.WaitMaster(ctx, replica); err != nil {
			converged <- err
			return
		}
		converged <- m.WaitInfo(ctx, "replication", "master_link_status", "up")
	}()
	strict, stale := r.during("manual failover", want, converged)
	t.Logf("manual failover %s -> %s converged after %v; meanwhile: strict: %v; stale: %v",
		m.Addr, replica.Addr, time.Since(start).Round(time.Millisecond), strict, stale)
	r.clk.Add(time.Second)
	strict, stale = r.untilFresh("after the manual failover", want, start)
	t.Logf("after the manual failover: strict: %v; stale: %v", strict, stale)
	replica.Do("RPUSH", key, "x")
	r.change(want)
	if strict, stale := r.untilFresh("pushed to the new master", want+1, time.Now()); strict.polls > 2 || stale.polls > 2 {
		t.Errorf("a push to the new master took %d and %d polls to read, want the next full poll", strict.polls, stale.polls)
	}
	r.polls("steady after the manual failover", 3)
	for _, v := range []*view{r.strict, r.stale} {
		ps := log.since(v.name, start)
		for _, p := range ps {
			if p.err != nil {
				t.Errorf("manual failover: %s engine: poll at +%v failed: %v (want no failed poll)",
					v.name, p.start.Sub(start).Round(time.Millisecond), p.err)
			}
		}
		t.Logf("manual failover: %s engine: %d polls from the failover command on", v.name, len(ps))
	}
	settleGoroutines(t, "engines running, after the manual failover", runningG)
	settleConnections(t, "engines running, after the manual failover", runningC, c.Nodes...)

	// 2. The new master dies; the cluster promotes the old one back.
	if acked := replica.Do("WAIT", 1, 10000); acked != int64(1) {
		t.Fatalf("WAIT on %s: %v replicas have the list, want 1", replica.Addr, acked)
	}
	replica.Kill()
	start = time.Now()
	r.clk.Add(time.Second)
	var promotedAt time.Time
	promoted := make(chan error, 1)
	go func() {
		err := m.WaitInfo(ctx, "replication", "role", "master")
		if err == nil {
			err = c.WaitMaster(ctx, m)
		}
		promotedAt = time.Now()
		promoted <- err
	}()
	strict, stale = r.during("cluster reconfiguring", want+1, promoted)
	t.Logf("master %s killed; %s promoted and seen by every node after %v; meanwhile: strict: %v; stale: %v",
		replica.Addr, m.Addr, promotedAt.Sub(start).Round(time.Millisecond), strict, stale)
	if strict.failed == 0 {
		t.Errorf("strict engine: no poll failed while the slot's master was dead")
	}
	if stale.failed != 0 {
		t.Errorf("stale engine: %d Unavailable answers within MaxStaleness", stale.failed)
	}
	for name, p := range r.firstPollAfter(log, "first poll after the promotion", promotedAt) {
		if p.err != nil || p.value != want+1 {
			t.Errorf("%s engine: first poll after the promotion (started %v after it): %v, %v; want %v",
				name, p.start.Sub(promotedAt).Round(time.Microsecond), p.value, p.err, want+1)
		}
	}
	r.clk.Add(time.Second)
	strict, stale = r.untilFresh("after the promotion", want+1, time.Now())
	t.Logf("after the promotion: strict: %v; stale: %v", strict, stale)
	r.strict.close()
	r.stale.close()
	settleGoroutines(t, "engines closed", baseG)
	settleConnections(t, "engines closed", baseC, c.Nodes...)
}

// TestClusterSlotMapReload: the poll after a cluster poll with a failed
// query reloads the slot map first (CLUSTER SLOTS); a query
// that fails only NotFound (a missing stream) costs no reload, so it adds
// nothing to every poll.
func TestClusterSlotMapReload(t *testing.T) {
	c := testredis.StartCluster(t, 3)
	if err := c.Client().RPush(ctxT(t), "q", "a", "b").Err(); err != nil {
		t.Fatal(err)
	}
	md := func(kv ...string) map[string]string {
		m := map[string]string{"redisType": "cluster", "addresses": strings.Join(c.Addrs(), ",")}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	list := mustParse(t, nil, md("listName", "q"))
	missing := mustParse(t, nil, md("stream", "nope"))
	wrong := mustParse(t, nil, md("stream", "q")) // a list: an error, not NotFound
	u := open(t, list)
	poll := func(other *Trigger) ([]sources.Result, Stats) {
		before := u.Stats()
		res := pollAt(t, u, t0, list, other)
		return res, delta(before, u.Stats())
	}
	check := func(what string, res []sources.Result) {
		t.Helper()
		if s := mustSample(t, res[0]); s.Value != 2 {
			t.Errorf("%s: list %v, want 2", what, s.Value)
		}
		if !errors.Is(res[1].Err, sources.ErrNotFound) {
			t.Errorf("%s: missing stream %v, want NotFound", what, res[1].Err)
		}
	}
	res, _ := poll(missing)
	check("first poll", res)
	res, steady := poll(missing)
	check("steady", res)
	res, again := poll(missing)
	check("after a NotFound-only poll", res)
	for what, d := range map[string]Stats{"steady": steady, "after a NotFound-only poll": again} {
		if d.RoundTrips != d.Pipelines {
			t.Errorf("%s: %+v, want pipelines only (no reload after NotFound)", what, d)
		}
	}
	if res, _ := poll(wrong); res[1].Err == nil || errors.Is(res[1].Err, sources.ErrNotFound) {
		t.Fatalf("stream query on a list: %v, want an error other than NotFound", res[1].Err)
	}
	res, after := poll(missing)
	check("after a failed poll", res)
	// One CLUSTER SLOTS, and a connection setup (HELLO) when the node it
	// asks has no pooled connection yet.
	if extra := after.RoundTrips - steady.RoundTrips; extra < 1 || extra > 2 || after.Pipelines != steady.Pipelines {
		t.Errorf("the poll after a failed one: %+v, want %+v plus a CLUSTER SLOTS (and perhaps a HELLO)", after, steady)
	}
	res, d := poll(missing)
	check("steady again", res)
	if d.RoundTrips != steady.RoundTrips {
		t.Errorf("steady again: %+v, want %+v", d, steady)
	}
}
