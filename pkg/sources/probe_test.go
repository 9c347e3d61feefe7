package sources

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// probeMem is a memUpstream that is also a Prober: the test says which
// queries have news, and the probe reports them once.
type probeMem struct {
	*memUpstream
	pmu   sync.Mutex
	news  map[string]bool
	fail  error
	asked [][]string // keys of each probe
}

type probeQuery struct {
	memQuery
	p *probeMem
}

func (q probeQuery) Open() (Upstream, error) { return q.p, nil }

func (p *probeMem) Poll(ctx context.Context, now time.Time, qs []Query) []Result {
	mqs := make([]Query, len(qs))
	for i, q := range qs {
		mqs[i] = q.(probeQuery).memQuery
	}
	return p.memUpstream.Poll(ctx, now, mqs)
}

func (p *probeMem) Probe(_ context.Context, _ time.Time, qs []Query) ([]Verdict, error) {
	p.pmu.Lock()
	defer p.pmu.Unlock()
	wake := make([]Verdict, len(qs))
	var keys []string
	for i, q := range qs {
		k := q.(probeQuery).key
		keys = append(keys, k)
		switch {
		case p.fail != nil:
		case p.news[k]:
			wake[i] = Wake
		default:
			wake[i] = Quiet
		}
		delete(p.news, k)
	}
	slices.Sort(keys)
	p.asked = append(p.asked, keys)
	return wake, p.fail
}

func (p *probeMem) news1(key string, v float64) {
	p.set(key, v)
	p.pmu.Lock()
	defer p.pmu.Unlock()
	p.news[key] = true
}

func newProbeMem(name string) *probeMem {
	return &probeMem{memUpstream: newMem(name), news: map[string]bool{}}
}

// TestProbeWakesInactiveWithinOneProbeInterval: with a 30 s poll and a
// 250 ms probe, new demand on an inactive watched query reaches its watcher
// within one probe interval; a query with activity is never probed.
func TestProbeWakesInactiveWithinOneProbeInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProbeMem("k")
		p.set("busy", 5)
		f := newFixture(t, Options{PollInterval: 30 * time.Second, ProbeInterval: 250 * time.Millisecond})
		idle, busy := probeQuery{memQuery{p.memUpstream, "idle"}, p}, probeQuery{memQuery{p.memUpstream, "busy"}, p}
		updates, stop, err := f.e.Watch(idle)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		if _, err := f.e.Read(t.Context(), busy); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		<-updates // the first sample: 0

		time.Sleep(time.Second) // quiet probes wake nothing
		synctest.Wait()
		select {
		case <-updates:
			t.Fatal("a probe without news woke the query")
		default:
		}
		p.news1("idle", 3)
		start := time.Now()
		<-updates
		if took := time.Since(start); took > 250*time.Millisecond {
			t.Errorf("woken after %s; want within the 250 ms probe interval", took)
		}
		if s, err := f.e.Read(t.Context(), idle); err != nil || s.Activity != 3 {
			t.Errorf("after the wake: %v, %v; want activity 3", s.Activity, err)
		}
		p.pmu.Lock()
		defer p.pmu.Unlock()
		if len(p.asked) < 4 {
			t.Errorf("%d probes in 1.25 s at 250 ms; want at least 4", len(p.asked))
		}
		for _, keys := range p.asked {
			if slices.Contains(keys, "busy") {
				t.Fatalf("probe asked about the active query: %v", keys)
			}
		}
		if n := testutil.ToFloat64(f.m.ProbeWakes.WithLabelValues("mem://k")); n != 1 {
			t.Errorf("probe wakes %v; want 1", n)
		}
	})
}

// TestProbeErrorKeepsPolling: a failing probe wakes nothing and records
// nothing (it is never read as a zero); it is counted, and the normal poll
// still brings the new value at its own interval.
func TestProbeErrorKeepsPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProbeMem("k")
		f := newFixture(t, Options{PollInterval: 2 * time.Second, ProbeInterval: 250 * time.Millisecond})
		q := probeQuery{memQuery{p.memUpstream, "q"}, p}
		if _, err := f.e.Read(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		p.pmu.Lock()
		p.fail = errors.New("leader 1: connection refused")
		p.pmu.Unlock()
		p.news1("q", 4)
		time.Sleep(time.Second)
		synctest.Wait()
		if s, err := f.e.Read(t.Context(), q); err != nil || s.Activity != 0 {
			t.Errorf("after failed probes: %v, %v; want the last poll's 0 still, no wake", s.Activity, err)
		}
		if n := testutil.ToFloat64(f.m.ProbeErrors.WithLabelValues("mem://k")); n < 3 {
			t.Errorf("probe errors %v; want every probe counted", n)
		}
		time.Sleep(1500 * time.Millisecond) // past the 2 s poll
		synctest.Wait()
		if s, err := f.e.Read(t.Context(), q); err != nil || s.Activity != 4 {
			t.Errorf("after the normal poll: %v, %v; want 4", s.Activity, err)
		}
	})
}

// TestProbeDisabled: ProbeInterval 0 sends no probe.
func TestProbeDisabled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProbeMem("k")
		f := newFixture(t, Options{PollInterval: 2 * time.Second})
		if _, err := f.e.Read(t.Context(), probeQuery{memQuery{p.memUpstream, "q"}, p}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		p.pmu.Lock()
		defer p.pmu.Unlock()
		if len(p.asked) != 0 {
			t.Errorf("%d probes with probing disabled; want 0", len(p.asked))
		}
	})
}

// TestProbeWakeRestsUntilNextPoll: a query the probe wakes whose poll still
// finds no activity (running consumers took the messages) is not woken
// again before its next regular poll: at most one extra poll per poll
// interval, not one per probe.
func TestProbeWakeRestsUntilNextPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newProbeMem("k")
		f := newFixture(t, Options{PollInterval: 2 * time.Second, ProbeInterval: 250 * time.Millisecond})
		q := probeQuery{memQuery{p.memUpstream, "q"}, p}
		if _, err := f.e.Read(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		for range 40 { // news at every probe for 10 s; the value stays 0
			p.news1("q", 0)
			time.Sleep(250 * time.Millisecond)
			synctest.Wait()
		}
		// 1 first sample + 5 regular polls + one wake after each of the
		// 6 polls (the first sample's included); 46 without resting.
		if polls, _ := p.stats(); polls > 1+5+6 {
			t.Errorf("%d polls in 10 s with news at every probe; want at most 12", polls)
		}
	})
}
