package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Fault tests of the Redis source through the engine, as `scaler serve`
// wires it: real redis-server processes are killed, restarted and failed
// over while the engine polls. Each test runs two engines on one injected
// clock: "strict" (MaxStaleness 0) shows every failed poll as the error a
// KEDA RPC gets (sources.ErrUnavailable, gRPC Unavailable), and "stale"
// (MaxStaleness failoverStale) shows the last good value served within
// staleness. Polls run every failoverInterval of wall time; the tests wait
// for poll results through Watch, never for time to pass, and move the
// clock themselves.

const (
	failoverInterval = 20 * time.Millisecond
	failoverStale    = 30 * time.Second
	// failoverWait bounds waiting for real processes to converge and for
	// the source to recover: a liveness bound, not a latency assertion.
	failoverWait = 30 * time.Second
	// Tolerances of the before/after comparisons.
	goroutineSlack = 3
	connSlack      = 2 // per server
)

// view is one engine watching one query.
type view struct {
	name    string
	e       *sources.Engine
	q       sources.Query
	updates <-chan struct{}
	stop    func()
	closed  bool
}

// rig is the engines of one test and their clock.
type rig struct {
	t      *testing.T
	clk    *testclock.Clock
	strict *view
	stale  *view
	// interval is the engines' PollInterval.
	interval time.Duration
	// wrap, when set, wraps the query each engine reads (see pollLog).
	wrap func(engine string, q sources.Query) sources.Query
	// A sample taken before changedAt on the clock may hold the value
	// before the test changed it, prev.
	prev      float64
	changedAt time.Time
}

// change records that the value was prev until now and moves the clock
// on, so that every later poll sees the change.
func (r *rig) change(prev float64) {
	r.prev = prev
	r.clk.Add(time.Second)
	r.changedAt = r.clk.Now()
}

// newRig starts both engines on tr's query and reads the first sample of
// each, which must be want.
func newRig(t *testing.T, tr *Trigger, want float64) *rig {
	t.Helper()
	return newRigEvery(t, tr, want, failoverInterval)
}

// newRigEvery is newRig polling every interval.
func newRigEvery(t *testing.T, tr *Trigger, want float64, interval time.Duration) *rig {
	t.Helper()
	r := &rig{t: t, clk: testclock.New(t0), interval: interval}
	r.strict = r.start("strict", tr, 0, want)
	r.stale = r.start("stale", tr, failoverStale, want)
	return r
}

func (r *rig) start(name string, tr *Trigger, maxStale time.Duration, want float64) *view {
	r.t.Helper()
	q := tr.Query()
	if r.wrap != nil {
		q = r.wrap(name, q)
	}
	v := &view{name: name, q: q, e: sources.NewEngine(sources.Options{
		PollInterval: r.interval, PollTimeout: time.Second, FirstSampleTimeout: 5 * time.Second,
		MaxStaleness: maxStale, Now: r.clk.Now,
		Metrics: metrics.New(prometheus.NewRegistry()),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})}
	r.t.Cleanup(v.close)
	if s, err := v.read(r.t); err != nil || s.Value != want {
		r.t.Fatalf("%s: first read: %v, %v; want %v", name, s.Value, err, want)
	}
	var err error
	if v.updates, v.stop, err = v.e.Watch(v.q); err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (v *view) read(t testing.TB) (sources.Sample, error) { return v.e.Read(ctxT(t), v.q) }

func (v *view) close() {
	if v.closed {
		return
	}
	v.closed = true
	if v.stop != nil {
		v.stop()
	}
	_ = v.e.Close()
}

// polls waits for n poll results of every engine from now on; with n >= 2
// the last comes from a poll that started after the call.
func (r *rig) polls(what string, n int) {
	r.t.Helper()
	for _, v := range []*view{r.strict, r.stale} {
		select {
		case <-v.updates:
		default:
		}
	}
	timeout := time.After(failoverWait)
	for _, v := range []*view{r.strict, r.stale} {
		for range n {
			select {
			case <-v.updates:
			case <-timeout:
				r.t.Fatalf("%s: %s engine: no poll result within %v", what, v.name, failoverWait)
			}
		}
	}
}

// answer is what one Read returned, checked: the exact value or an error
// wrapping ErrUnavailable, never another number.
func (r *rig) answer(v *view, what string, want float64) (sources.Sample, error) {
	r.t.Helper()
	s, err := v.read(r.t)
	switch {
	case err != nil && !errors.Is(err, sources.ErrUnavailable):
		r.t.Errorf("%s: %s engine: error %v does not wrap ErrUnavailable", what, v.name, err)
	case err != nil && s.Value != 0:
		r.t.Errorf("%s: %s engine: error %v with a value %v", what, v.name, err, s.Value)
	case err == nil && s.Value == r.prev && s.Time.Before(r.changedAt):
		// taken before the value changed
	case err == nil && s.Value != want:
		r.t.Errorf("%s: %s engine: value %v, want %v or an error (never a zero or a partial value)", what, v.name, s.Value, want)
	}
	return s, err
}

// window is how one engine fared from a fault until it read the exact
// value fresh again.
type window struct {
	failed, stale, polls int
	took                 time.Duration
	firstErr             error
}

func (w window) String() string {
	out := fmt.Sprintf("%d poll(s): %d Unavailable, %d last good value, %d fresh",
		w.polls, w.failed, w.stale, w.polls-w.failed-w.stale)
	if w.took > 0 {
		out += fmt.Sprintf(", fresh after %v wall time", w.took.Round(time.Millisecond))
	}
	if w.firstErr != nil {
		out += fmt.Sprintf("; error: %v", w.firstErr)
	}
	return out
}

// untilFresh waits poll by poll until both engines read want sampled at
// the clock's current time (a poll that started after the clock last
// moved), checking every answer on the way. It fails the test when that
// takes longer than failoverWait.
func (r *rig) untilFresh(what string, want float64, start time.Time) (strict, stale window) {
	r.t.Helper()
	now := r.clk.Now()
	deadline := time.Now().Add(failoverWait)
	ws := map[*view]*window{r.strict: &strict, r.stale: &stale}
	done := map[*view]bool{}
	for len(done) < 2 {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: not recovered within %v: strict %v; stale %v", what, failoverWait, strict, stale)
		}
		r.polls(what, 1)
		for v, w := range ws {
			if done[v] {
				continue
			}
			w.polls++
			s, err := r.answer(v, what, want)
			switch {
			case err != nil:
				w.failed++
				if w.firstErr == nil {
					w.firstErr = err
				}
			case !s.Time.Equal(now):
				w.stale++
			default:
				w.took = time.Since(start)
				done[v] = true
			}
		}
	}
	return strict, stale
}

// processesGone registers a check, run after every later cleanup (the
// servers' Stop), that no recorded redis-server process exists any more;
// record notes the servers' current PIDs.
func processesGone(t *testing.T) (record func(...*testredis.Server)) {
	var pids []int
	t.Cleanup(func() {
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("redis-server %d still exists after cleanup (kill 0: %v)", pid, err)
			}
		}
	})
	return func(ss ...*testredis.Server) {
		for _, s := range ss {
			if pid := s.PID(); pid != 0 {
				pids = append(pids, pid)
			}
		}
	}
}

// settleGoroutines waits (bounded) for the goroutine count to come back to
// within goroutineSlack of base and returns it.
func settleGoroutines(t *testing.T, what string, base int) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base+goroutineSlack {
			return n
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%s: %d goroutines, %d before (tolerance %d)\n%s", what, n, base, goroutineSlack, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond) // waiting for goroutines to exit, not for time
	}
}

// connections sums INFO clients' connected_clients over the live servers.
func connections(t *testing.T, servers ...*testredis.Server) (int, string) {
	t.Helper()
	total := 0
	var per []string
	for _, s := range servers {
		if s.PID() == 0 {
			continue
		}
		n, err := s.ConnectedClients(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		total += n
		per = append(per, fmt.Sprintf("%s=%d", s.Addr, n))
	}
	return total, strings.Join(per, " ")
}

// settleConnections waits (bounded) until the live servers hold at most
// max client connections in all, plus connSlack per server (a client may
// keep a second pooled connection to a node it used concurrently), and
// returns the count.
func settleConnections(t *testing.T, what string, max int, servers ...*testredis.Server) int {
	t.Helper()
	max += connSlack * len(servers)
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, per := connections(t, servers...)
		if n <= max {
			t.Logf("%s: %d client connections (%s)", what, n, per)
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d client connections (%s), want at most %d", what, n, per, max)
		}
		time.Sleep(10 * time.Millisecond) // waiting for the servers to see closes, not for time
	}
}

// persistent starts a standalone server that keeps an AOF (fsync always),
// so the list comes back with a restart and the true value never changes:
// any other number read would be a lie. It holds seven entries.
func persistent(t *testing.T) (*testredis.Server, *Trigger) {
	t.Helper()
	srv := testredis.Start(t, testredis.Config{Args: []string{"--appendonly", "yes", "--appendfsync", "always"}})
	srv.Do("RPUSH", "q", "a", "b", "c", "d", "e", "f", "g")
	return srv, mustParse(t, srv, map[string]string{"listName": "q"})
}

// TestFailoverServerRestartShort: a standalone redis-server is killed
// (SIGKILL) for one poll and restarted on its port: the polls while it is
// down are Unavailable naming it, and the first poll that starts after it
// is back reads the exact value.
func TestFailoverServerRestartShort(t *testing.T) {
	record := processesGone(t)
	srv, tr := persistent(t)
	record(srv)
	const want = 7
	baseG := runtime.NumGoroutine()
	baseC, _ := connections(t, srv)
	// A slow interval keeps the outage to one or two polls: go-redis stops
	// dialing after 10 dial errors in a row (see TestFailoverServerRestart).
	r := newRigEvery(t, tr, want, 500*time.Millisecond)
	runningC, _ := connections(t, srv)
	srv.Kill()
	r.clk.Add(time.Second)
	for {
		r.polls("server down", 1)
		if _, err := r.answer(r.strict, "server down", want); err != nil {
			if !strings.Contains(err.Error(), "redis "+srv.Addr) {
				t.Errorf("server down: %v does not name redis %s", err, srv.Addr)
			}
			break
		}
	}
	srv.Restart()
	record(srv)
	r.clk.Add(time.Second)
	r.polls("server back", 2) // the second poll started after the restart
	for _, v := range []*view{r.strict, r.stale} {
		if s, err := r.answer(v, "first poll after the restart", want); err != nil || !s.Time.Equal(r.clk.Now()) {
			t.Errorf("%s engine, first poll after the restart: %v at %v, %v; want %v fresh", v.name, s.Value, s.Time, err, want)
		}
	}
	settleConnections(t, "engines running, after the restart", runningC, srv)
	r.strict.close()
	r.stale.close()
	settleGoroutines(t, "engines closed", baseG)
	settleConnections(t, "engines closed", baseC, srv)
}

// TestFailoverServerRestart: a standalone redis-server is killed (SIGKILL)
// and restarted on its port while the engine polls every 20 ms. While it
// is down every read of the strict engine is Unavailable naming the
// server, never a zero; the stale engine serves the last good value until
// MaxStaleness has passed on the clock, then Unavailable; once the server
// is back both read the exact value again within a bounded number of
// polls. Goroutines and connections do not grow.
//
// After 10 dial errors in a row (the pool size) go-redis fails every dial
// at once with the last error until a background probe, once a second,
// gets through: polls in the first second after a long outage are still
// Unavailable. The test reports that window.
func TestFailoverServerRestart(t *testing.T) {
	record := processesGone(t)
	srv, tr := persistent(t)
	record(srv)
	const want = 7
	baseG := runtime.NumGoroutine()
	baseC, _ := connections(t, srv)

	r := newRig(t, tr, want)
	r.polls("steady", 3)
	runningG := runtime.NumGoroutine()
	runningC, per := connections(t, srv)
	t.Logf("before the fault: %d goroutines (%d without the engines), %d connections (%s; %d without the engines)",
		runningG, baseG, runningC, per, baseC)

	srv.Kill()
	start := time.Now()
	// The clock moves with every step of the test: with MaxStaleness 0 a
	// sample is still served at the very instant it was taken.
	r.clk.Add(time.Second)
	r.polls("server down", 2)
	if _, err := r.answer(r.strict, "server down", want); err == nil || !strings.Contains(err.Error(), "redis "+srv.Addr) {
		t.Fatalf("server down: strict engine: %v, want Unavailable naming redis %s", err, srv.Addr)
	} else {
		t.Logf("server down: strict engine answers: %v", err)
	}
	// The stale engine serves t0's value while the clock is within
	// MaxStaleness of it, then the poll's error.
	for _, d := range []time.Duration{0, failoverStale/2 - time.Second, failoverStale / 2} {
		r.clk.Add(d)
		r.polls("server down, clock moved", 2)
		if s, err := r.answer(r.stale, "within staleness", want); err != nil || !s.Time.Equal(t0) {
			t.Fatalf("down %v on the clock: stale engine %v at %v, %v; want %v from t0", r.clk.Now().Sub(t0), s.Value, s.Time, err, want)
		}
		if _, err := r.answer(r.strict, "within staleness", want); err == nil {
			t.Fatalf("down %v on the clock: strict engine served a value", r.clk.Now().Sub(t0))
		}
	}
	r.clk.Add(time.Second)
	r.polls("server down past MaxStaleness", 2)
	_, err := r.answer(r.stale, "past staleness", want)
	if err == nil || strings.Contains(err.Error(), "stalled") || !strings.Contains(err.Error(), "redis "+srv.Addr) {
		t.Fatalf("past MaxStaleness: stale engine %v; want the poll's Unavailable naming redis %s", err, srv.Addr)
	}
	down := time.Since(start)

	srv.Restart()
	record(srv)
	r.clk.Add(time.Second)
	strict, stale := r.untilFresh("after restart", want, time.Now())
	t.Logf("server down for %v wall time; after restart: strict: %v; stale: %v", down.Round(time.Millisecond), strict, stale)

	r.polls("steady after recovery", 3)
	settleGoroutines(t, "engines running, after recovery", runningG)
	settleConnections(t, "engines running, after recovery", runningC, srv)
	r.strict.close()
	r.stale.close()
	settleGoroutines(t, "engines closed", baseG)
	settleConnections(t, "engines closed", baseC, srv)
}

// during polls and checks every answer until done delivers (the deployment
// has reconfigured), counting what each engine answered meanwhile.
func (r *rig) during(what string, want float64, done <-chan error) (strict, stale window) {
	r.t.Helper()
	ws := map[*view]*window{r.strict: &strict, r.stale: &stale}
	for {
		select {
		case err := <-done:
			if err != nil {
				r.t.Fatalf("%s: %v", what, err)
			}
			return strict, stale
		default:
		}
		r.polls(what, 1)
		for v, w := range ws {
			w.polls++
			if s, err := r.answer(v, what, want); err != nil {
				w.failed++
				if w.firstErr == nil {
					w.firstErr = err
				}
			} else if !s.Time.Equal(r.clk.Now()) {
				w.stale++
			}
		}
	}
}

// sentinelReplicaKnown waits until the sentinel lists replica as a
// healthy replica of master, so a failover has somewhere to go.
func sentinelReplicaKnown(t *testing.T, sn *testredis.Sentinel, master string, replica *testredis.Server) {
	t.Helper()
	deadline := time.Now().Add(failoverWait)
	var last any
	for time.Now().Before(deadline) {
		v, err := sn.Client().Do(ctxT(t), "SENTINEL", "REPLICAS", master).Result()
		last = fmt.Sprint(v, err)
		if rs, ok := v.([]any); err == nil && ok {
			for _, r := range rs {
				kv, _ := r.([]any)
				f := map[string]string{}
				for i := 0; i+1 < len(kv); i += 2 {
					f[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
				}
				if f["name"] == replica.Addr && f["flags"] == "slave" && f["master-link-status"] == "ok" {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond) // waiting for the sentinel's view, not for time
	}
	t.Fatalf("sentinel %s does not list %s as a healthy replica: %v", sn.Addr, replica.Addr, last)
}

// TestFailoverSentinel: a master with one replica behind a sentinel; the
// master is killed (SIGKILL) and SENTINEL FAILOVER promotes the replica.
// While the deployment switches the strict engine answers Unavailable and
// the stale engine the last good value, never a zero; once the sentinel
// names the new master both read the exact value from it (a push there
// after the old master died is read too). Goroutines and connections do
// not grow.
func TestFailoverSentinel(t *testing.T) {
	record := processesGone(t)
	master := testredis.Start(t, testredis.Config{})
	replica := testredis.StartReplica(t, master, testredis.Config{})
	const want = 5
	master.Do("RPUSH", "q", "a", "b", "c", "d", "e")
	if acked := master.Do("WAIT", 1, 10000); acked != int64(1) {
		t.Fatalf("WAIT: %v replicas have the list, want 1", acked)
	}
	sn := testredis.StartSentinel(t, master, testredis.SentinelConfig{Master: "mymaster"})
	record(master, replica, sn.Server)
	sentinelReplicaKnown(t, sn, "mymaster", replica)
	tr := mustParse(t, nil, map[string]string{"redisType": "sentinel", "addresses": sn.Addr,
		"sentinelMaster": "mymaster", "listName": "q"})
	all := []*testredis.Server{master, replica, sn.Server}
	baseG := runtime.NumGoroutine()
	baseC, _ := connections(t, all...)

	r := newRig(t, tr, want)
	r.polls("steady", 3)
	runningG := runtime.NumGoroutine()
	runningC, per := connections(t, all...)
	t.Logf("before the fault: %d goroutines (%d without the engines), %d connections (%s; %d without the engines)",
		runningG, baseG, runningC, per, baseC)

	master.Kill()
	start := time.Now()
	r.clk.Add(time.Second)
	r.polls("master dead", 2)
	if _, err := r.answer(r.strict, "master dead", want); err == nil {
		t.Fatalf("master dead, no failover yet: strict engine served a value")
	}
	if err := sn.Client().Do(ctxT(t), "SENTINEL", "FAILOVER", "mymaster").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	switched := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), failoverWait)
		defer cancel()
		for {
			got, err := sn.Client().Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").Result()
			if err == nil && fmt.Sprint(got) == fmt.Sprintf("[127.0.0.1 %d]", replica.Port) {
				switched <- replica.WaitInfo(ctx, "replication", "role", "master")
				return
			}
			select {
			case <-ctx.Done():
				switched <- fmt.Errorf("sentinel still names %v (%v): %w", got, err, ctx.Err())
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	strict, stale := r.during("sentinel failing over", want, switched)
	t.Logf("master %s killed; sentinel names %s after %v; meanwhile: strict: %v; stale: %v",
		master.Addr, replica.Addr, time.Since(start).Round(time.Millisecond), strict, stale)

	r.clk.Add(time.Second)
	strict, stale = r.untilFresh("after the switch", want, start)
	t.Logf("after the switch: strict: %v; stale: %v", strict, stale)

	replica.Do("RPUSH", "q", "f")
	r.change(want)
	strict, stale = r.untilFresh("pushed to the new master", want+1, time.Now())
	if strict.polls > 2 || stale.polls > 2 {
		t.Errorf("a push to the new master took %d and %d polls to read, want the next full poll", strict.polls, stale.polls)
	}

	r.polls("steady after recovery", 3)
	settleGoroutines(t, "engines running, after recovery", runningG)
	settleConnections(t, "engines running, after recovery", runningC, all...)
	r.strict.close()
	r.stale.close()
	settleGoroutines(t, "engines closed", baseG)
	settleConnections(t, "engines closed", baseC, all...)
}
