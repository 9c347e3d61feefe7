package trigger

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

var t0 = time.Unix(1_800_000_000, 0)

func newCache(r *reader, max int) *Cache {
	return NewCache(CacheConfig{Registry: registry(), Reader: r, Max: max})
}

func TestCacheOneInstancePerMetadata(t *testing.T) {
	c := newCache(newReader(), 0)
	defer c.Close()
	a, err := c.Get(md("target", "5"), t0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Get(md("target", "5"), t0)
	h, release, _ := c.Hold(md("target", "5"), t0)
	defer release()
	other, _ := c.Get(md("target", "6"), t0)
	if a != b || a != h || a == other || c.Len() != 2 {
		t.Errorf("same metadata gave different triggers, or different metadata the same (len %d)", c.Len())
	}
	if _, err := c.Get(md("target", "x"), t0); err == nil || c.Len() != 2 {
		t.Errorf("invalid metadata: %v, len %d; want an error and nothing cached", err, c.Len())
	}
}

// TestCacheLimit: one distinct trigger beyond Max is a LimitError naming
// the limit and is not cached; triggers already held are still served, by
// Get and by Hold; a swept trigger frees its slot.
func TestCacheLimit(t *testing.T) {
	c := newCache(newReader(), 2)
	defer c.Close()
	for _, q := range []string{"a", "b"} {
		if _, err := c.Get(md("queue", q), t0); err != nil {
			t.Fatal(err)
		}
	}
	var le *LimitError
	if _, err := c.Get(md("queue", "c"), t0); !errors.As(err, &le) || !strings.Contains(err.Error(), "2 triggers, its limit") {
		t.Errorf("third trigger over a limit of 2: %v, want a LimitError naming the limit", err)
	}
	if _, _, err := c.Hold(md("queue", "c"), t0); !errors.As(err, &le) {
		t.Errorf("Hold of a third trigger over a limit of 2: %v, want a LimitError", err)
	}
	if c.Len() != 2 {
		t.Errorf("%d triggers held after refusals; want 2", c.Len())
	}
	if _, err := c.Get(md("queue", "a"), t0); err != nil {
		t.Errorf("a cached trigger is refused at the limit: %v", err)
	}
	_, release, err := c.Hold(md("queue", "a"), t0)
	if err != nil {
		t.Fatalf("Hold of a cached trigger at the limit: %v", err)
	}
	defer release()

	// b goes idle and is swept: its slot takes c, and d is refused again.
	if _, err := c.Get(md("queue", "a"), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := c.Sweep(t0.Add(time.Minute), nil); n != 1 {
		t.Fatalf("sweep left %d triggers; want 1", n)
	}
	if _, err := c.Get(md("queue", "c"), t0.Add(time.Hour)); err != nil {
		t.Errorf("a new trigger after a sweep freed a slot: %v", err)
	}
	if _, err := c.Get(md("queue", "d"), t0.Add(time.Hour)); !errors.As(err, &le) {
		t.Errorf("back at the limit: %v, want a LimitError", err)
	}
}

// TestCacheLimitConcurrent: distinct triggers asked for at once never
// overshoot Max (rounds make a lost race likely to show).
func TestCacheLimitConcurrent(t *testing.T) {
	const max, n, rounds = 5, 64, 100
	for range rounds {
		c := newCache(newReader(), max)
		var ok, refused atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, err := c.Get(md("queue", strconv.Itoa(i)), t0)
				var le *LimitError
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &le):
					refused.Add(1)
				default:
					t.Errorf("Get: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		c.Close()
		if ok.Load() != max || refused.Load() != n-max || c.Len() != max {
			t.Fatalf("%d accepted, %d refused, %d held; want %d, %d, %d", ok.Load(), refused.Load(), c.Len(), max, n-max, max)
		}
	}
}

func TestSweepSparesHeldTriggers(t *testing.T) {
	c := newCache(newReader(), 0)
	defer c.Close()
	idle, _ := c.Get(md("queue", "idle"), t0)
	held, release, err := c.Hold(md("queue", "held"), t0)
	if err != nil {
		t.Fatal(err)
	}
	var forgot []*Trigger
	forget := func(t *Trigger) { forgot = append(forgot, t) }
	if n := c.Sweep(t0.Add(time.Hour), forget); n != 1 || len(forgot) != 1 || forgot[0] != idle {
		t.Fatalf("sweep kept %d, forgot %v; want the held trigger kept and the idle one forgotten", n, forgot)
	}
	if again, _ := c.Get(md("queue", "held"), t0); again != held {
		t.Error("the held trigger was replaced")
	}
	release()
	release() // a second release is a no-op
	if n := c.Sweep(t0.Add(2*time.Hour), forget); n != 0 || len(forgot) != 2 {
		t.Errorf("after release: %d left, %d forgotten; want it swept", n, len(forgot))
	}
}

// TestActivityIsTheLatchs: a sample between deactivationThreshold and the
// activation threshold keeps an active trigger active, through every path
// that evaluates it (Read, Evaluate).
func TestActivityIsTheLatchs(t *testing.T) {
	r := newReader()
	c := newCache(r, 0)
	defer c.Close()
	tr, err := c.Get(md("activation", "5", "deactivationThreshold", "1"), t0)
	if err != nil {
		t.Fatal(err)
	}
	for i, step := range []struct {
		activity float64
		want     bool
	}{{0, false}, {3, false}, {6, true}, {3, true}, {1, false}, {3, false}} {
		r.set("jobs", sources.Sample{Time: t0.Add(time.Duration(i) * time.Second), Value: step.activity, Activity: step.activity})
		got, err := c.Read(t.Context(), tr)
		if err != nil || got.Active != step.want {
			t.Fatalf("step %d (activity %v): active %v, %v; want %v", i, step.activity, got.Active, err, step.want)
		}
	}
	r.mu.Lock() // the follower reads r too
	r.err = errors.New("broker down")
	r.mu.Unlock()
	if _, err := c.Read(t.Context(), tr); err == nil {
		t.Error("a failed read gave a reading")
	}
}

func TestEvaluateByMode(t *testing.T) {
	s := sources.Sample{Time: t0, Value: 23, Activity: 23}
	raw, _ := registry().Parse(md("target", "5"))
	rep, _ := registry().Parse(md("target", "5", "metricMode", "replicas"))
	if r := raw.Evaluate(s); r.Value != 23 || raw.Target() != 5 || !r.Active || r.Measurement.Replicas != 5 {
		t.Errorf("raw: %+v target %v", r, raw.Target())
	}
	if r := rep.Evaluate(s); r.Value != 5 || rep.Target() != 1 {
		t.Errorf("replicas: %+v target %v; want ceil(23/5)=5 with target 1", r, rep.Target())
	}
}

// TestFollowerStepsTheLatch: a stateful trigger sees every sample of its
// query, not only the ones a face asks about: a burst nobody asked about
// still starts minActiveDuration.
func TestFollowerStepsTheLatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReader()
		c := newCache(r, 0)
		defer c.Close()
		tr, err := c.Get(md("minActiveDuration", "1m"), t0)
		if err != nil {
			t.Fatal(err)
		}
		if r.watching("jobs") != 1 {
			t.Fatalf("stateful trigger not followed")
		}
		r.set("jobs", sources.Sample{Time: t0, Value: 4, Activity: 4})
		synctest.Wait()
		r.set("jobs", sources.Sample{Time: t0.Add(10 * time.Second)})
		synctest.Wait()
		if got := tr.Evaluate(sources.Sample{Time: t0.Add(20 * time.Second)}); !got.Active {
			t.Error("the burst the follower saw did not keep the trigger active for minActiveDuration")
		}
		plain, _ := c.Get(md("queue", "other"), t0)
		if r.watching("other") != 0 || plain == nil {
			t.Error("a stateless trigger is followed")
		}
	})
}
