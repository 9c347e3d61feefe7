package kafka

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// faultLag is the lag of the topic faultCluster sets up: 10-4, 20-15, 5-5.
const faultLag = 11

// faultCluster starts a cluster with topic "t" (3 partitions) and group "g"
// lagging faultLag records behind, and returns it with a trigger on it and
// the goroutine count once everything but the upstream under test is up.
func faultCluster(t *testing.T) (*testCluster, *Trigger, int) {
	t.Helper()
	c := startCluster(t)
	c.createTopic(t, 3, "t")
	c.produce(t, "t", map[int32]int{0: 10, 1: 20, 2: 5})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 4, 1: 15, 2: 5}})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t"})
	return c, tr, runtime.NumGoroutine()
}

// noGoroutineGrowth waits (bounded) for the goroutine count to come back to
// within a small tolerance of base, after the upstream or engine closed.
func noGoroutineGrowth(t *testing.T, base int) {
	t.Helper()
	const tolerance = 3
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for n := runtime.NumGoroutine(); n > base+tolerance; n = runtime.NumGoroutine() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d after the fault cycle, %d before (tolerance %d)\n%s",
				n, base, tolerance, buf[:runtime.Stack(buf, true)])
		}
		<-tick.C
	}
	t.Logf("goroutines: %d after the fault cycle, %d before", runtime.NumGoroutine(), base)
}

// pollWithin polls tr once at now with a poll deadline of d.
func pollWithin(u *Upstream, tr *Trigger, now time.Time, d time.Duration) sources.Result {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return u.Poll(ctx, now, []sources.Query{tr.Query()})[0]
}

// mustFail checks that a faulted poll is an error, a broker-level one
// (unavailable, timed out, naming the brokers) or one naming the group or
// partitions it could not read, and never a sample that could pass for a
// smaller lag.
func mustFail(t *testing.T, r sources.Result) {
	t.Helper()
	if r.Err == nil {
		t.Fatalf("poll under fault: sample %+v, want an error", r.Sample)
	}
	if r.Sample.Value != 0 || r.Sample.Parts != nil {
		t.Errorf("poll under fault: error %v with a sample %+v", r.Err, r.Sample)
	}
	msg := r.Err.Error()
	if !errors.Is(r.Err, sources.ErrUnavailable) && !errors.Is(r.Err, context.DeadlineExceeded) &&
		!strings.Contains(msg, "brokers ") && !strings.Contains(msg, "t/") && !strings.Contains(msg, `group "g"`) {
		t.Errorf("poll under fault: error %q names neither the brokers, the group nor the partitions", msg)
	}
}

// TestFaultBrokerStopsAnswering: a broker that drops connections, answers
// with error codes, or stalls past the poll deadline fails the poll; the
// first poll after the fault is lifted reads the exact lag again.
func TestFaultBrokerStopsAnswering(t *testing.T) {
	cases := []struct {
		name string
		// inject installs the fault and returns how to lift it and how
		// many requests it hit.
		inject func(c *testCluster) (lift func(), hits func() int64)
	}{
		{"ListOffsets connection dropped", func(c *testCluster) (func(), func() int64) {
			return dropKey(c, int16(kmsg.ListOffsets))
		}},
		{"OffsetFetch connection dropped", func(c *testCluster) (func(), func() int64) {
			return dropKey(c, int16(kmsg.OffsetFetch))
		}},
		{"OffsetFetch error code", func(c *testCluster) (func(), func() int64) {
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetFetch}, Err: kerr.UnknownServerError, Count: -1})
			return h.Remove, func() int64 { return int64(h.Hits()) }
		}},
		{"ListOffsets error code", func(c *testCluster) (func(), func() int64) {
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.ListOffsets}, Err: kerr.KafkaStorageError, Count: -1})
			return h.Remove, func() int64 { return int64(h.Hits()) }
		}},
		{"ListOffsets stalls past the deadline", func(c *testCluster) (func(), func() int64) {
			var active atomic.Bool
			var hits atomic.Int64
			release := make(chan struct{})
			active.Store(true)
			c.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				if active.Load() {
					hits.Add(1)
					c.SleepControl(func() { <-release })
				}
				return nil, nil, false // then answered as usual, late
			})
			var once sync.Once
			return func() { active.Store(false); once.Do(func() { close(release) }) }, hits.Load
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, tr, base := faultCluster(t)
			u := open(t, tr)
			if s := mustSample(t, pollWithin(u, tr, t0, 10*time.Second)); s.Value != faultLag {
				t.Fatalf("before the fault: lag %v, want %d", s.Value, faultLag)
			}
			lift, hits := tc.inject(c)
			t.Cleanup(lift)
			start := time.Now()
			r := pollWithin(u, tr, t0.Add(time.Second), 500*time.Millisecond)
			took := time.Since(start)
			mustFail(t, r)
			t.Logf("under fault (%d request(s) hit, %v): %v", hits(), took.Round(time.Millisecond), r.Err)
			if hits() == 0 {
				t.Errorf("the fault hit no request")
			}
			if took > 5*time.Second {
				t.Errorf("faulted poll took %v, past its 500ms deadline", took)
			}
			lift()
			if s := mustSample(t, pollWithin(u, tr, t0.Add(2*time.Second), 10*time.Second)); s.Value != faultLag {
				t.Errorf("first poll after the fault: lag %v, want %d", s.Value, faultLag)
			}
			_ = u.Close()
			noGoroutineGrowth(t, base)
		})
	}
}

// dropKey closes the connection of every request of key until lifted.
func dropKey(c *testCluster, key int16) (lift func(), hits func() int64) {
	var active atomic.Bool
	var n atomic.Int64
	active.Store(true)
	c.ControlKey(key, func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !active.Load() {
			return nil, nil, false
		}
		n.Add(1)
		return nil, errors.New("fault: connection dropped"), true
	})
	return func() { active.Store(false) }, n.Load
}

// TestFaultLeadersMove: partition leaders move between polls; the next poll
// still reads the exact lag, at the cost of one metadata re-read and one
// retried ListOffsets per leader at most.
func TestFaultLeadersMove(t *testing.T) {
	c, tr, _ := faultCluster(t)
	moveAll := func() {
		t.Helper()
		for p := range int32(3) {
			if err := c.MoveTopicPartition("t", p, (c.LeaderFor("t", p)+1)%3); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The test's producer opens a connection to each new leader (and kfake a
	// goroutine for it): warm those up before counting goroutines.
	for range 3 {
		moveAll()
		c.produce(t, "t", map[int32]int{0: 1, 1: 1, 2: 1})
	}
	base := runtime.NumGoroutine()
	u := open(t, tr)
	lag := float64(faultLag + 9)
	now := t0
	poll := func(what string) (metadata, listOffsets int64) {
		t.Helper()
		before := u.Stats()
		now = now.Add(time.Second) // well inside the 30 s metadata refresh
		if s := mustSample(t, pollWithin(u, tr, now, 10*time.Second)); s.Value != lag {
			t.Errorf("%s: lag %v, want %v", what, s.Value, lag)
		}
		after := u.Stats()
		return after.MetadataRequests - before.MetadataRequests, after.ListOffsetsRequests - before.ListOffsetsRequests
	}
	poll("first poll")
	for round := range 3 {
		moveAll() // every partition to the next broker: a leader error for all
		c.produce(t, "t", map[int32]int{int32(round): 2})
		lag += 2
		if md, lo := poll("after moving every leader"); md != 1 || lo > 6 {
			t.Errorf("round %d, every leader moved: %d metadata and %d ListOffsets requests, want 1 and at most 6", round, md, lo)
		}
		c.ShufflePartitionLeaders() // random: some leaders may stay
		if md, lo := poll("after a leader shuffle"); md > 1 || lo > 6 {
			t.Errorf("round %d, shuffled: %d metadata and %d ListOffsets requests, want at most 1 and 6", round, md, lo)
		}
		if md, _ := poll("with leaders settled"); md != 0 {
			t.Errorf("round %d, no move: %d metadata requests, want 0", round, md)
		}
	}
	_ = u.Close()
	noGoroutineGrowth(t, base)
}

// fakeClock is the engine's clock, advanced only by the test.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestFaultClusterDownAndBack: every broker drops every connection for a
// while. The engine serves the last good lag only within MaxStaleness, then
// fails with ErrUnavailable; the first poll after the cluster answers again
// reads the exact lag.
func TestFaultClusterDownAndBack(t *testing.T) {
	c, tr, base := faultCluster(t)
	const maxStale = 30 * time.Second
	clk := &fakeClock{now: t0}
	e := sources.NewEngine(sources.Options{
		PollInterval: 20 * time.Millisecond, PollTimeout: 2 * time.Second, MaxStaleness: maxStale,
		Now: clk.Now, Metrics: metrics.New(prometheus.NewRegistry()),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = e.Close()
		}
	})
	q := tr.Query()
	read := func() (sources.Sample, error) { return e.Read(ctxT(t), q) }
	if s, err := read(); err != nil || s.Value != faultLag {
		t.Fatalf("first read: %v %v, want lag %d", s.Value, err, faultLag)
	}
	updates, stop, err := e.Watch(q)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	// fullPolls waits for two poll results from now on: the second comes
	// from a poll that started after the call.
	fullPolls := func(what string) {
		t.Helper()
		select {
		case <-updates:
		default:
		}
		timeout := time.After(10 * time.Second)
		for range 2 {
			select {
			case <-updates:
			case <-timeout:
				t.Fatalf("%s: no poll result within 10s", what)
			}
		}
	}

	var down atomic.Bool
	var dropped atomic.Int64
	c.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !down.Load() {
			return nil, nil, false
		}
		dropped.Add(1)
		return nil, errors.New("fault: cluster down"), true
	})
	down.Store(true)
	fullPolls("cluster down")
	if dropped.Load() == 0 {
		t.Fatal("no request reached the downed cluster")
	}
	for _, d := range []time.Duration{0, maxStale / 2, maxStale / 2} {
		clk.Add(d)
		fullPolls("cluster down, clock advanced")
		if s, err := read(); err != nil || s.Value != faultLag || !s.Time.Equal(t0) {
			t.Fatalf("down for %v of poll time: %v at %v, %v; want the last good lag %d from %v",
				clk.Now().Sub(t0), s.Value, s.Time, err, faultLag, t0)
		}
	}
	clk.Add(time.Second)
	fullPolls("cluster down past MaxStaleness")
	s, err := read()
	if !errors.Is(err, sources.ErrUnavailable) || strings.Contains(err.Error(), "stalled") {
		t.Fatalf("past MaxStaleness: %+v, %v; want the poll's error wrapping ErrUnavailable", s, err)
	}
	t.Logf("past MaxStaleness: %v (%d requests dropped)", err, dropped.Load())

	down.Store(false)
	clk.Add(time.Second)
	fullPolls("cluster back")
	if s, err := read(); err != nil || s.Value != faultLag || !s.Time.Equal(clk.Now()) {
		t.Fatalf("first full poll after the cluster is back: %v at %v, %v; want lag %d at %v",
			s.Value, s.Time, err, faultLag, clk.Now())
	}
	stop()
	closed = true
	if err := e.Close(); err != nil {
		t.Errorf("engine close: %v", err)
	}
	noGoroutineGrowth(t, base)
}
