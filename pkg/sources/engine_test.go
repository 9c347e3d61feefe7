package sources

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tide-scaler/tide/pkg/metrics"
)

// memUpstream is an in-memory upstream whose values the test sets. It is
// the engine's own contract implemented over a map, so the engine's
// scheduling, caching and staleness rules can be tested under synctest.
type memUpstream struct {
	name     string
	interval time.Duration // the endpoint's own poll interval, if any
	mu       sync.Mutex
	vals     map[string]float64
	errs     map[string]error
	down     error         // every query fails
	hang     time.Duration // each poll takes this long (respecting ctx)
	deaf     bool          // polls ignore ctx, as a broken client would

	polls   int
	batches [][]string
	closed  bool
}

type memQuery struct {
	up  *memUpstream
	key string
}

func (q memQuery) Key() string { return q.up.name + "/" + q.key }
func (q memQuery) Upstream() Endpoint {
	return Endpoint{Key: q.up.name, Name: "mem://" + q.up.name, Interval: q.up.interval}
}
func (q memQuery) Open() (Upstream, error) { return q.up, nil }

func (u *memUpstream) set(key string, v float64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.vals[key] = v
}

func (u *memUpstream) Poll(ctx context.Context, now time.Time, qs []Query) []Result {
	u.mu.Lock()
	hang, deaf := u.hang, u.deaf
	u.mu.Unlock()
	if deaf {
		time.Sleep(hang)
	} else if hang > 0 {
		select {
		case <-time.After(hang):
		case <-ctx.Done():
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.polls++
	var keys []string
	out := make([]Result, len(qs))
	for i, q := range qs {
		k := q.(memQuery).key
		keys = append(keys, k)
		switch {
		case ctx.Err() != nil:
			out[i].Err = ctx.Err()
		case u.down != nil:
			out[i].Err = u.down
		case u.errs[k] != nil:
			out[i].Err = u.errs[k]
		default:
			out[i].Sample = Sample{Value: u.vals[k], Activity: u.vals[k]}
			if u.vals[k] == 0 {
				out[i].Sample.Notes = []string{"empty"}
			}
		}
	}
	u.batches = append(u.batches, keys)
	return out
}

func (u *memUpstream) Close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
	return nil
}

func (u *memUpstream) stats() (polls int, closed bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.polls, u.closed
}

func newMem(name string) *memUpstream {
	return &memUpstream{name: name, vals: map[string]float64{}, errs: map[string]error{}}
}

type fixture struct {
	e   *Engine
	m   *metrics.Metrics
	log *bytes.Buffer
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := &fixture{m: metrics.New(prometheus.NewRegistry()), log: &bytes.Buffer{}}
	opts.Metrics = f.m
	opts.Logger = slog.New(slog.NewTextHandler(f.log, nil))
	f.e = NewEngine(opts)
	t.Cleanup(func() { f.e.Close() })
	return f
}

func TestFirstReadIsSynchronousAndShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("a")
		up.set("q", 7)
		up.hang = 100 * time.Millisecond
		f := newFixture(t, Options{PollInterval: time.Hour})

		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				s, err := f.e.Read(t.Context(), memQuery{up, "q"})
				if err != nil || s.Value != 7 {
					t.Errorf("Read = %v, %v; want 7", s.Value, err)
				}
			})
		}
		wg.Wait()
		if polls, _ := up.stats(); polls != 1 {
			t.Errorf("%d polls for 10 concurrent first reads; want 1", polls)
		}
	})
}

func TestFirstSampleDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("slow")
		up.hang = time.Minute
		f := newFixture(t, Options{PollInterval: time.Hour, FirstSampleTimeout: time.Second})
		start := time.Now()
		_, err := f.e.Read(t.Context(), memQuery{up, "q"})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "mem://slow") {
			t.Fatalf("err = %v; want Unavailable naming the upstream", err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("first read took %s; want at most the 1s deadline", took)
		}
	})
}

func TestBackgroundPollBatchesQueriesPerUpstream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("a")
		f := newFixture(t, Options{PollInterval: 2 * time.Second})
		for _, k := range []string{"x", "y", "z"} {
			if _, err := f.e.Read(t.Context(), memQuery{up, k}); err != nil {
				t.Fatal(err)
			}
		}
		up.set("y", 42)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		s, err := f.e.Read(t.Context(), memQuery{up, "y"})
		if err != nil || s.Value != 42 {
			t.Fatalf("after one interval Read = %v, %v; want 42", s.Value, err)
		}
		up.mu.Lock()
		last := up.batches[len(up.batches)-1]
		up.mu.Unlock()
		if len(last) != 3 {
			t.Errorf("background poll read %v; want all 3 queries in one batch", last)
		}
		if got := f.e.Stats(); got != (Stats{Upstreams: 1, Queries: 3}) {
			t.Errorf("Stats = %+v", got)
		}
	})
}

func TestFailureIsAnErrorNeverZero(t *testing.T) {
	boom := errors.New("connection refused")
	tests := []struct {
		name         string
		maxStaleness time.Duration
		// served reports whether the last good value is still served this
		// long after the failing poll.
		checks map[time.Duration]bool
	}{
		{"fail at once", 0, map[time.Duration]bool{0: false}},
		{"serve last good within bound", 5 * time.Second,
			map[time.Duration]bool{0: true, 2 * time.Second: true, 4 * time.Second: false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				up := newMem("k")
				up.set("q", 9)
				f := newFixture(t, Options{PollInterval: 2 * time.Second, MaxStaleness: tc.maxStaleness})
				q := memQuery{up, "q"}
				if _, err := f.e.Read(t.Context(), q); err != nil {
					t.Fatal(err)
				}
				up.mu.Lock()
				up.down = boom
				up.mu.Unlock()
				time.Sleep(2 * time.Second) // the next poll fails
				synctest.Wait()
				start := time.Now()
				for _, after := range []time.Duration{0, 2 * time.Second, 4 * time.Second} {
					want, ok := tc.checks[after]
					if !ok {
						continue
					}
					time.Sleep(time.Until(start.Add(after)))
					s, err := f.e.Read(t.Context(), q)
					if want && (err != nil || s.Value != 9) {
						t.Errorf("+%s: Read = %v, %v; want the last good 9", after, s.Value, err)
					}
					if !want && (err == nil || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "mem://k")) {
						t.Errorf("+%s: Read = %v, %v; want Unavailable naming the upstream", after, s.Value, err)
					}
				}
				up.mu.Lock()
				up.down = nil
				up.mu.Unlock()
				time.Sleep(2 * time.Second) // recovery within one poll
				synctest.Wait()
				if s, err := f.e.Read(t.Context(), q); err != nil || s.Value != 9 {
					t.Errorf("after recovery Read = %v, %v", s.Value, err)
				}
				if n := testutil.ToFloat64(f.m.PollErrors.WithLabelValues("mem://k")); n < 1 {
					t.Errorf("poll_errors_total = %v; want counted", n)
				}
			})
		})
	}
}

func TestQueryErrorsStayPerQuery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("k")
		up.set("good", 3)
		up.errs["missing"] = fmt.Errorf("topic %q: %w", "missing", ErrNotFound)
		f := newFixture(t, Options{PollInterval: time.Second})
		_, err := f.e.Read(t.Context(), memQuery{up, "missing"})
		if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"missing"`) {
			t.Fatalf("err = %v; want NotFound naming the topic", err)
		}
		if s, err := f.e.Read(t.Context(), memQuery{up, "good"}); err != nil || s.Value != 3 {
			t.Fatalf("good query = %v, %v", s.Value, err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s, err := f.e.Read(t.Context(), memQuery{up, "good"}); err != nil || s.Value != 3 {
			t.Fatalf("good query after a shared poll = %v, %v", s.Value, err)
		}
	})
}

func TestSlowUpstreamDoesNotDelayOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow, fast := newMem("slow"), newMem("fast")
		f := newFixture(t, Options{PollInterval: time.Second, PollTimeout: 10 * time.Second, FirstSampleTimeout: 20 * time.Second})
		if _, err := f.e.Read(t.Context(), memQuery{slow, "q"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.e.Read(t.Context(), memQuery{fast, "q"}); err != nil {
			t.Fatal(err)
		}
		slow.mu.Lock()
		slow.hang = 10 * time.Second
		slow.mu.Unlock()
		fast.set("q", 5)
		time.Sleep(1500 * time.Millisecond) // both loops poll; the slow one hangs
		start := time.Now()
		s, err := f.e.Read(t.Context(), memQuery{fast, "q"})
		if err != nil || s.Value != 5 || time.Since(start) != 0 {
			t.Errorf("fast upstream: %v, %v after %s", s.Value, err, time.Since(start))
		}
		if _, err := f.e.Read(t.Context(), memQuery{slow, "q"}); err != nil {
			t.Errorf("slow upstream's cached value should still be served while its poll runs: %v", err)
		}
	})
}

func TestStalledPollIsStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("s")
		f := newFixture(t, Options{PollInterval: time.Second, PollTimeout: time.Second})
		q := memQuery{up, "q"}
		if _, err := f.e.Read(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		// An upstream that ignores its deadline blocks the loop: no error is
		// ever recorded, so only the sample's age can tell.
		up.mu.Lock()
		up.hang, up.deaf = time.Hour, true
		up.mu.Unlock()
		time.Sleep(4 * time.Second)
		if _, err := f.e.Read(t.Context(), q); err != nil {
			t.Fatalf("at 4s (limit 2×1s+1s+1s): %v; want still served", err)
		}
		time.Sleep(time.Second + time.Millisecond)
		_, err := f.e.Read(t.Context(), q)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "stalled") {
			t.Errorf("err = %v; want stale Unavailable", err)
		}
	})
}

func TestIdleQueriesAreDroppedAndUpstreamClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("i")
		f := newFixture(t, Options{PollInterval: time.Second, IdleTTL: 10 * time.Second})
		if _, err := f.e.Read(t.Context(), memQuery{up, "q"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		if got := f.e.Stats(); got.Queries != 1 {
			t.Fatalf("after 5s Stats = %+v; want the query kept", got)
		}
		time.Sleep(7 * time.Second)
		synctest.Wait()
		if got := f.e.Stats(); got != (Stats{}) {
			t.Errorf("after the TTL Stats = %+v; want empty", got)
		}
		if _, closed := up.stats(); !closed {
			t.Error("idle upstream was not closed")
		}
		// Asking again re-opens it.
		up.set("q", 1)
		if s, err := f.e.Read(t.Context(), memQuery{up, "q"}); err != nil || s.Value != 1 {
			t.Errorf("re-read = %v, %v", s.Value, err)
		}
	})
}

func TestWatchSignalsEveryPollAndKeepsQueryAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("w")
		f := newFixture(t, Options{PollInterval: time.Second, IdleTTL: 2 * time.Second})
		updates, stop, err := f.e.Watch(memQuery{up, "q"})
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		got := 0
		for range 5 {
			<-updates
			got++
		}
		if got != 5 || f.e.Stats().Queries != 1 {
			t.Errorf("signals %d, stats %+v; want 5 signals and the query kept past its TTL", got, f.e.Stats())
		}
	})
}

func TestNotesLoggedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := newMem("n")
		f := newFixture(t, Options{PollInterval: time.Second})
		q := memQuery{up, "q"}
		if _, err := f.e.Read(t.Context(), q); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := strings.Count(f.log.String(), "note=empty"); n != 1 {
			t.Errorf("note logged %d times; want once:\n%s", n, f.log)
		}
		if v := testutil.ToFloat64(f.m.Notes.WithLabelValues("mem://n", q.Key(), "empty")); v != 1 {
			t.Errorf("notes metric = %v; want 1", v)
		}
		up.set("q", 1)
		time.Sleep(time.Second)
		synctest.Wait()
		if n := testutil.CollectAndCount(f.m.Notes); n != 0 {
			t.Errorf("notes metric has %d series after the note cleared; want 0", n)
		}
	})
}

func TestUpstreamOwnInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fast := newMem("fast")
		fast.interval = 500 * time.Millisecond
		f := newFixture(t, Options{PollInterval: time.Hour})
		if _, err := f.e.Read(t.Context(), memQuery{fast, "q"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if polls, _ := fast.stats(); polls != 5 { // the first sample + 4 ticks
			t.Errorf("%d polls in 2s at a 500ms interval; want 5", polls)
		}
	})
}
