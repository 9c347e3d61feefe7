package sources

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tide-scaler/tide/internal/testclock"
)

// The engine judges a sample's age with its injected clock (Options.Now),
// while its poll loop runs on timers. These tests move the injected clock
// by hours in either direction between polls, as an NTP step or a VM resume
// moves a wall clock, and check that staleness stays honest and that
// polling goes on. synctest drives the timers: waiting for a poll is a
// channel receive, not a sleep.

var clockT0 = time.Unix(1_800_000_000, 0)

// clockRig is one watched query on an in-memory upstream under an
// injected clock.
type clockRig struct {
	t       *testing.T
	f       *fixture
	clk     *testclock.Clock
	up      *memUpstream
	q       memQuery
	updates <-chan struct{}
}

func newClockRig(t *testing.T, name string, opts Options) *clockRig {
	t.Helper()
	r := &clockRig{t: t, clk: testclock.New(clockT0), up: newMem(name)}
	opts.Now = r.clk.Now
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Second
	}
	r.f = newFixture(t, opts)
	r.q = memQuery{r.up, "q"}
	r.up.set("q", 1)
	updates, stop, err := r.f.e.Watch(r.q) // watched: never dropped as idle, whatever the clock says
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	r.updates = updates
	r.mustServe(1)
	return r
}

// nextPoll waits for the next poll result recorded after every goroutine
// of the bubble has settled; the bubble's timers advance while it waits.
func (r *clockRig) nextPoll() {
	synctest.Wait()
	select {
	case <-r.updates:
	default:
	}
	<-r.updates
}

func (r *clockRig) setDown(err error) {
	r.up.mu.Lock()
	defer r.up.mu.Unlock()
	r.up.down = err
}

func (r *clockRig) mustServe(want float64) {
	r.t.Helper()
	s, err := r.f.e.Read(r.t.Context(), r.q)
	if err != nil || s.Value != want {
		r.t.Fatalf("clock at T0 + %v: Read = %v, %v; want %v served", r.clk.Now().Sub(clockT0), s.Value, err, want)
	}
}

// mustFail checks that Read is an Unavailable error naming the upstream
// and containing want, never a value.
func (r *clockRig) mustFail(want string) {
	r.t.Helper()
	s, err := r.f.e.Read(r.t.Context(), r.q)
	if err == nil || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), r.q.Upstream().Name) ||
		!strings.Contains(err.Error(), want) || s.Value != 0 || !s.Time.IsZero() {
		r.t.Fatalf("clock at T0 + %v: Read = %+v, %v; want Unavailable naming %s and saying %q",
			r.clk.Now().Sub(clockT0), s, err, r.q.Upstream().Name, want)
	}
}

// TestClockJumpForwardMakesSampleStale: a sample that the clock says is an
// hour old is not served, even though the last poll succeeded; polling
// goes on and the first poll after the jump serves the new value.
func TestClockJumpForwardMakesSampleStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newClockRig(t, "fwd", Options{})
		r.clk.Add(time.Second)
		r.nextPoll()
		r.mustServe(1)

		r.up.set("q", 2)
		polls, _ := r.up.stats()
		r.clk.Add(time.Hour)
		r.mustFail("polling has stalled")
		r.nextPoll()
		r.mustServe(2)
		if after, _ := r.up.stats(); after <= polls {
			t.Errorf("polls %d -> %d: polling stopped after the jump", polls, after)
		}
		r.clk.Add(time.Second)
		r.nextPoll()
		r.mustServe(2)
	})
}

// TestClockJumpForwardEndsMaxStaleness: with the upstream down, the last
// good value is served within MaxStaleness; a forward jump past it ends
// that at once, and the first good poll recovers.
func TestClockJumpForwardEndsMaxStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newClockRig(t, "fwd-down", Options{MaxStaleness: 30 * time.Second})
		r.setDown(errors.New("connection refused"))
		r.clk.Add(time.Second)
		r.nextPoll()
		r.mustServe(1) // 1 s old, within 30 s
		r.clk.Add(time.Hour)
		r.nextPoll()
		r.mustFail("connection refused")
		r.up.set("q", 3)
		r.setDown(nil)
		r.nextPoll()
		r.mustServe(3)
	})
}

// TestClockJumpBackDoesNotMakeSamplesFresh: after the clock goes back an
// hour, the sample taken before the jump is stamped an hour ahead of the
// clock. Its age is unknown, so it is not served (a small step back within
// the staleness bound still is); the first poll after the jump is stamped
// with the new clock and serves the new value, and time then runs on
// normally.
func TestClockJumpBackDoesNotMakeSamplesFresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newClockRig(t, "back", Options{})
		r.clk.Add(-500 * time.Millisecond) // jitter-sized step back: still served
		r.mustServe(1)

		r.up.set("q", 2)
		r.clk.Add(-time.Hour)
		r.mustFail("ahead of the clock")
		r.nextPoll()
		r.mustServe(2)
		for i := range 5 {
			r.up.set("q", float64(10+i))
			r.clk.Add(time.Second)
			r.nextPoll()
			r.mustServe(float64(10 + i))
		}
	})
}

// TestClockJumpBackStalledPoll: the clock goes back an hour and the poll
// loop then stalls (an upstream ignoring its deadline). The sample from
// before the jump must not look fresh for the hour until the clock catches
// up with its stamp: it is not served, not at the jump and not after the
// stall limit has passed on the new clock. When polls complete again the
// new value is served.
func TestClockJumpBackStalledPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newClockRig(t, "back-stall", Options{PollTimeout: time.Second})
		r.up.mu.Lock()
		r.up.hang, r.up.deaf = 10*time.Minute, true
		r.up.mu.Unlock()
		r.clk.Add(-time.Hour)
		synctest.Wait()
		r.mustFail("ahead of the clock")
		r.clk.Add(10 * time.Second) // past 2×1s+1s+1s on the new clock; still before the stamp
		r.mustFail("ahead of the clock")

		r.up.mu.Lock()
		r.up.hang, r.up.deaf = 0, false
		r.up.mu.Unlock()
		r.up.set("q", 4)
		r.nextPoll() // the stalled poll ends (after 10 minutes of the loop's time)
		r.nextPoll()
		r.mustServe(4)
	})
}

// TestClockJumpBackDoesNotExtendMaxStaleness: with the upstream down, a
// clock gone back an hour must not serve the last good value for that hour
// plus MaxStaleness: it is an error at once, and stays one as the clock
// runs past MaxStaleness. The first good poll recovers.
func TestClockJumpBackDoesNotExtendMaxStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newClockRig(t, "back-down", Options{MaxStaleness: 30 * time.Second})
		r.setDown(errors.New("connection refused"))
		r.clk.Add(time.Second)
		r.nextPoll()
		r.mustServe(1)
		r.clk.Add(-time.Hour)
		r.nextPoll()
		r.mustFail("connection refused")
		r.clk.Add(31 * time.Second)
		r.nextPoll()
		r.mustFail("connection refused")

		r.up.set("q", 5)
		r.setDown(nil)
		r.nextPoll()
		r.mustServe(5)
	})
}

// TestClockStandingStillFailsAtOnce: with MaxStaleness 0 a failed poll is
// an error at once, even when the clock has not moved since the last good
// sample (a coarse clock, or one stepped back onto the same instant).
func TestClockStandingStillFailsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newClockRig(t, "still", Options{})
		r.setDown(errors.New("connection refused"))
		r.nextPoll()
		r.mustFail("connection refused")
		r.setDown(nil)
		r.nextPoll()
		r.mustServe(1)
	})
}

// TestClockJumpsBackAndForth: hour-sized jumps in both directions between
// polls, with and without MaxStaleness, never panic, never stop polling,
// and every poll after a jump serves the value it read.
func TestClockJumpsBackAndForth(t *testing.T) {
	jumps := []time.Duration{time.Hour, -time.Hour, -2 * time.Hour, time.Second, 3 * time.Hour, -time.Nanosecond,
		0, -24 * time.Hour, 24 * time.Hour, -time.Minute, time.Minute}
	for _, maxStale := range []time.Duration{0, 30 * time.Second} {
		t.Run("maxStaleness="+maxStale.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newClockRig(t, "zigzag", Options{MaxStaleness: maxStale, IdleTTL: time.Minute})
				for i := range 4 * len(jumps) {
					v := float64(100 + i)
					r.up.set("q", v)
					r.clk.Add(jumps[i%len(jumps)])
					polls, _ := r.up.stats()
					r.nextPoll()
					r.mustServe(v)
					if after, _ := r.up.stats(); after <= polls {
						t.Fatalf("step %d: polling stopped", i)
					}
				}
				if got := r.f.e.Stats(); got != (Stats{Upstreams: 1, Queries: 1}) {
					t.Errorf("Stats = %+v; want the watched query kept", got)
				}
			})
		})
	}
}

// TestClockJumpPastIdleTTL: a forward jump longer than IdleTTL makes a
// query nobody watches look idle, so it is dropped; the next Read reopens
// it and serves the current value, not an error or a zero. A watched query
// on the same upstream is kept and paces the test's polls.
func TestClockJumpPastIdleTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := testclock.New(clockT0)
		up := newMem("idle")
		up.set("q", 7)
		f := newFixture(t, Options{PollInterval: time.Second, IdleTTL: 10 * time.Minute, Now: clk.Now})
		q := memQuery{up, "q"}
		updates, stop, err := f.e.Watch(memQuery{up, "w"})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		if s, err := f.e.Read(t.Context(), q); err != nil || s.Value != 7 {
			t.Fatalf("Read = %v, %v", s.Value, err)
		}
		clk.Add(time.Hour)
		up.set("q", 8)
		synctest.Wait()
		select {
		case <-updates:
		default:
		}
		<-updates
		if got := f.e.Stats(); got != (Stats{Upstreams: 1, Queries: 1}) {
			t.Errorf("Stats = %+v; want the unwatched query dropped as idle, the watched one kept", got)
		}
		if s, err := f.e.Read(t.Context(), q); err != nil || s.Value != 8 {
			t.Fatalf("Read after the jump = %v, %v; want 8", s.Value, err)
		}
	})
}
