package sources

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// polledTimes counts the polls whose batch held key.
func (u *memUpstream) polledTimes(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, b := range u.batches {
		for _, k := range b {
			if k == key {
				n++
			}
		}
	}
	return n
}

// TestQuietProbesStretchIdlePolls: with IdlePollInterval 30 s, an inactive
// query the probes find Quiet is polled in full every 30 s, not every 2 s,
// and every read of it in between is served fresh (restamped by the last
// probe, never stale); an active query keeps the 2 s schedule; news wakes
// the idle one at once; and while the probe fails, the idle query is
// polled every 2 s again.
func TestQuietProbesStretchIdlePolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProbeMem("k")
		p.set("busy", 5)
		f := newFixture(t, Options{PollInterval: 2 * time.Second, ProbeInterval: 250 * time.Millisecond,
			IdlePollInterval: 30 * time.Second})
		idle, busy := probeQuery{memQuery{p.memUpstream, "idle"}, p}, probeQuery{memQuery{p.memUpstream, "busy"}, p}
		updates, stop, err := f.e.Watch(idle)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		if _, err := f.e.Read(t.Context(), busy); err != nil {
			t.Fatal(err)
		}
		<-updates
		for range 240 { // 60 s, a read of each every 250 ms
			time.Sleep(250 * time.Millisecond)
			synctest.Wait()
			s, err := f.e.Read(t.Context(), idle)
			if err != nil || s.Activity != 0 || time.Since(s.Time) > 250*time.Millisecond {
				t.Fatalf("idle read: %+v, %v; want 0 stamped within the last probe interval", s, err)
			}
			if _, err := f.e.Read(t.Context(), busy); err != nil {
				t.Fatal(err)
			}
		}
		if n := p.polledTimes("idle"); n < 2 || n > 3 {
			t.Errorf("idle polled %d times in 60 s; want 2-3 (the first sample, then every 30 s)", n)
		}
		if n := p.polledTimes("busy"); n < 30 {
			t.Errorf("busy polled %d times in 60 s; want every 2 s", n)
		}

		p.news1("idle", 4)
		start := time.Now()
		<-updates
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Errorf("woken after %s; want within one probe", took)
		}

		p.set("idle", 0)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		p.pmu.Lock()
		p.fail = errors.New("leader 1: connection refused")
		p.pmu.Unlock()
		before := p.polledTimes("idle")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := p.polledTimes("idle") - before; n < 5 {
			t.Errorf("idle polled %d times in 10 s of failing probes; want every 2 s (nothing vouches for it)", n)
		}
	})
}

// TestIdlePollsSpreadOverTheInterval: 20 queries that went idle together
// are not all polled in full in the same tick: each has its own slot of
// IdlePollInterval, so a tick polls at most half of them, and each is
// still polled about every 30 s.
func TestIdlePollsSpreadOverTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProbeMem("k")
		f := newFixture(t, Options{PollInterval: 2 * time.Second, ProbeInterval: 250 * time.Millisecond,
			IdlePollInterval: 30 * time.Second})
		for i := range 20 {
			_, stop, err := f.e.Watch(probeQuery{memQuery{p.memUpstream, fmt.Sprintf("q%02d", i)}, p})
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		p.mu.Lock()
		start := len(p.batches)
		p.mu.Unlock()
		time.Sleep(90 * time.Second)
		synctest.Wait()
		p.mu.Lock()
		defer p.mu.Unlock()
		biggest, total := 0, 0
		for _, b := range p.batches[start:] {
			biggest, total = max(biggest, len(b)), total+len(b)
		}
		if biggest > 10 {
			t.Errorf("one tick polled %d of the 20 idle queries; want them spread (at most 10)", biggest)
		}
		if total < 20*2 || total > 20*4 {
			t.Errorf("%d full polls of 20 idle queries in 90 s; want about 3 each", total)
		}
	})
}
