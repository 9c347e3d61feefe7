package redis

import (
	"fmt"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/sources"
)

// interval is Tide's default poll interval; the tests step poll time by it.
const interval = 2 * time.Second

// paceRig is n one-list triggers on a real server, polled at poll times
// 2 s apart, with the server's own command counts.
type paceRig struct {
	t   *testing.T
	srv *testredis.Server
	u   *Upstream
	qs  []sources.Query
	now time.Time
}

func newPaceRig(t *testing.T, n int) *paceRig {
	r := &paceRig{t: t, srv: testredis.Start(t, testredis.Config{}), now: t0}
	for i := range n {
		tr := mustParse(t, r.srv, map[string]string{"listName": fmt.Sprintf("k%d", i)})
		r.qs = append(r.qs, tr.Query())
		if r.u == nil {
			r.u = open(t, tr)
		}
	}
	return r
}

// poll polls every query once and returns the values.
func (r *paceRig) poll() []float64 {
	r.t.Helper()
	out := make([]float64, len(r.qs))
	for i, res := range r.u.Poll(ctxT(r.t), r.now, r.qs) {
		out[i] = mustSample(r.t, res).Value
	}
	r.now = r.now.Add(interval)
	return out
}

// counts polls n times and returns the commands the server received, by
// name.
func (r *paceRig) counts(n int, between func(poll int)) map[string]int64 {
	r.t.Helper()
	before := commandStats(r.t, r.srv)
	for i := range n {
		if between != nil {
			between(i)
		}
		r.poll()
	}
	after := commandStats(r.t, r.srv)
	for k, v := range before {
		after[k] -= v
	}
	delete(after, "rpush")
	delete(after, "del")
	delete(after, "sadd")
	return after
}

// TestPaceTypeOncePerKey: TYPE goes once to each list, however many polls
// read it and whether its depth moves or not (INFO commandstats on the
// server).
func TestPaceTypeOncePerKey(t *testing.T) {
	const n = 50
	r := newPaceRig(t, n)
	for i := range n {
		r.srv.Do("RPUSH", fmt.Sprintf("k%d", i), "x")
	}
	c := r.counts(20, func(poll int) {
		if poll%2 == 0 {
			r.srv.Do("RPUSH", fmt.Sprintf("k%d", poll), "x")
		}
	})
	if c["type"] != n {
		t.Errorf("TYPE sent %d times over 20 polls of %d lists, want %d (once per key): %v", c["type"], n, n, c)
	}
}

// TestPaceTypeChangeWhileIdle: a drained list (idle, its type still
// cached) that comes back as a set is read as a set in the first poll
// after: EXISTS finds it, LLEN answers WRONGTYPE, TYPE, SCARD.
func TestPaceTypeChangeWhileIdle(t *testing.T) {
	r := newPaceRig(t, 1)
	r.srv.Do("RPUSH", "k0", "a")
	r.poll()
	r.srv.Do("DEL", "k0")
	for range 5 {
		if v := r.poll()[0]; v != 0 {
			t.Fatalf("drained: %v", v)
		}
	}
	r.srv.Do("SADD", "k0", "a", "b", "c")
	if v := r.poll()[0]; v != 3 {
		t.Errorf("after it came back as a set: %v, want 3", v)
	}
}

// TestPaceIdleActivation: 200 idle keys (100 never created, 100 drained
// lists) cost 2 EXISTS a poll and no TYPE; a key that gets an entry is
// counted by the very next poll, after 10 minutes of idle polls as after
// one: activation waits one poll interval at most, as before.
func TestPaceIdleActivation(t *testing.T) {
	const n = 200
	r := newPaceRig(t, n)
	for i := range n / 2 {
		r.srv.Do("RPUSH", fmt.Sprintf("k%d", i), "x")
	}
	r.poll()
	for i := range n / 2 {
		r.srv.Do("DEL", fmt.Sprintf("k%d", i))
	}
	r.poll()          // the drained lists read 0 once
	const polls = 300 // 10 minutes of poll time
	c := r.counts(polls, nil)
	if want := int64(polls * n / existsChunk); c["exists"] != want || c["type"] != 0 || c["llen"] != 0 {
		t.Errorf("%d idle polls sent %v, want %d EXISTS and nothing else", polls, c, want)
	}
	for _, k := range []int{7, 150} { // a drained list, a key never seen
		r.srv.Do("RPUSH", fmt.Sprintf("k%d", k), "a", "b")
		if v := r.poll()[k]; v != 2 {
			t.Errorf("key k%d: first poll after its entries arrived read %v, want 2", k, v)
		}
	}
}

// TestPaceStableKeys: a list whose depth stood still for stableFor of poll
// time is read every stableEvery-th poll, spread over polls; when it moves
// again, the change is seen within stableEvery polls and the list is read
// every poll after.
func TestPaceStableKeys(t *testing.T) {
	const n = 90
	r := newPaceRig(t, n)
	for i := range n {
		r.srv.Do("RPUSH", fmt.Sprintf("k%d", i), "x")
	}
	r.counts(int(stableFor/interval)+1, nil)
	per := []int64{}
	for range 2 * stableEvery {
		per = append(per, r.counts(1, nil)["llen"])
	}
	for i, c := range per {
		if lo, hi := int64(n/stableEvery/2), int64(2*n/stableEvery); c < lo || c > hi {
			t.Errorf("stable poll %d read %d of %d lists, want about %d (%v)", i, c, n, n/stableEvery, per)
		}
	}
	r.srv.Do("RPUSH", "k5", "y")
	seen := -1
	for i := range stableEvery {
		if r.poll()[5] == 2 {
			seen = i
			break
		}
	}
	if seen < 0 {
		t.Fatalf("a change to a stable list was not seen within %d polls", stableEvery)
	}
	r.srv.Do("RPUSH", "k5", "z")
	if v := r.poll()[5]; v != 3 {
		t.Errorf("a list that just moved is not read on the next poll: %v, want 3", v)
	}
}

// TestPaceCommandsBelowKEDA: 200 ScaledObjects of one list each, laid
// out as in benchmarks/compare (list i holds i%20 entries), cost fewer
// commands a minute at Tide's default 2 s poll than KEDA's redis scaler
// sends at its defaults (kedaCommandsPerMin), once the lists are known.
func TestPaceCommandsBelowKEDA(t *testing.T) {
	const n = 200
	r := newPaceRig(t, n)
	for i := range n {
		for j := range i % 20 {
			r.srv.Do("RPUSH", fmt.Sprintf("k%d", i), j)
		}
	}
	r.counts(30, nil)
	total := int64(0)
	for _, v := range r.counts(30, nil) { // one minute of poll time
		total += v
	}
	if keda := kedaCommandsPerMin(n); float64(total) > keda {
		t.Errorf("%d commands in a minute of polls, KEDA sends %.0f", total, keda)
	}
	t.Logf("%d commands a minute for %d lists; KEDA's redis scaler: %.0f", total, n, kedaCommandsPerMin(n))
}

// TestPaceRestingNeedsServer: once the server is gone, no poll serves a
// resting list's last depth: every read fails, naming the server.
func TestPaceRestingNeedsServer(t *testing.T) {
	const n = 30
	r := newPaceRig(t, n)
	for i := range n {
		r.srv.Do("RPUSH", fmt.Sprintf("k%d", i), "x")
	}
	r.counts(int(stableFor/interval)+1, nil) // every list rests two polls in three
	r.srv.Kill()
	for p := range stableEvery {
		for i, res := range r.u.Poll(ctxT(t), r.now, r.qs) {
			wantErr(t, fmt.Sprintf("poll %d, list %d, server down", p, i), res.Err, "redis "+r.srv.Addr)
		}
		r.now = r.now.Add(interval)
	}
}

// TestPaceStillnessIsSeen: a key rests only when reads stableFor apart
// found the same depth, not because its one read is old: a list read once
// and changed a minute later is read afresh, whatever its phase.
func TestPaceStillnessIsSeen(t *testing.T) {
	const n = 30 // every phase, several times
	r := newPaceRig(t, n)
	for i := range n {
		r.srv.Do("RPUSH", fmt.Sprintf("k%d", i), "x")
	}
	r.poll()
	for i := range n {
		r.srv.Do("RPUSH", fmt.Sprintf("k%d", i), "y")
	}
	r.now = r.now.Add(time.Minute)
	for i, v := range r.poll() {
		if v != 2 {
			t.Errorf("list k%d: %v a minute after its only read, want 2", i, v)
		}
	}
}
