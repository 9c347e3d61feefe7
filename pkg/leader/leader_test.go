package leader

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// config is a fast election: terms end 1s after renewals start failing.
func config(id string) Config {
	return Config{LeaseName: "tide", LeaseNamespace: "tide-system", Identity: id,
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 50 * time.Millisecond}
}

// waitFor polls cond in a bounded loop: election runs on real timers, so
// tests wait for what they expect, never for a fixed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// candidate is one replica: while it leads it "writes" every few
// milliseconds, checking its term right before each write, as the
// standalone loops do.
type candidate struct {
	id      string
	leading atomic.Bool
	writes  atomic.Int64
	stop    func()
}

// both counts candidates leading at once, across all of them.
type both struct {
	mu       sync.Mutex
	now, max int
}

func (b *both) add(d int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now += d
	b.max = max(b.max, b.now)
}

func start(t *testing.T, kc *kubefake.Clientset, id string, b *both) *candidate {
	c := &candidate{id: id}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, kc, config(id), func(term context.Context) {
			b.add(1)
			c.leading.Store(true)
			defer b.add(-1)
			defer c.leading.Store(false)
			for term.Err() == nil {
				c.writes.Add(1)
				select {
				case <-term.Done():
				case <-time.After(5 * time.Millisecond):
				}
			}
		})
	}()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

// TestHandover runs two candidates (two Tide replicas) against one API
// server: one leads at a time, and when its context ends it releases the
// Lease and the other takes over well before the Lease would expire.
func TestHandover(t *testing.T) {
	kc := kubefake.NewClientset()
	b := &both{}
	a, c := start(t, kc, "replica-a", b), start(t, kc, "replica-b", b)
	waitFor(t, "a leader", func() bool { return a.leading.Load() || c.leading.Load() })
	leader, follower := a, c
	if c.leading.Load() {
		leader, follower = c, a
	}
	waitFor(t, "the leader to write", func() bool { return leader.writes.Load() >= 20 })
	if follower.writes.Load() != 0 || follower.leading.Load() {
		t.Fatalf("the follower wrote %d times", follower.writes.Load())
	}

	leader.stop()
	released := time.Now()
	if leader.leading.Load() {
		t.Fatal("a stopped candidate still leads")
	}
	before := leader.writes.Load()
	waitFor(t, "handover", follower.leading.Load)
	// Without the release the follower waits out the 2s lease from the
	// last renewal it saw, which is close to 2s after the stop.
	if d := time.Since(released); d >= time.Second {
		t.Errorf("handover took %s, not well under the 2s lease duration", d)
	}
	waitFor(t, "the new leader to write", func() bool { return follower.writes.Load() >= 5 })
	lease, err := kc.CoordinationV1().Leases("tide-system").Get(context.Background(), "tide", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h != follower.id {
		t.Errorf("lease holder %v, want %s", h, follower.id)
	}
	if leader.writes.Load() != before {
		t.Error("the old leader wrote after it stopped")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max != 1 {
		t.Errorf("%d candidates led at once", b.max)
	}
}

// A Lease held by another replica is never taken while it is valid.
func TestFollowerNeverLeads(t *testing.T) {
	kc := kubefake.NewClientset()
	holder, secs := "other-replica", int32(3600)
	now := metav1.NewMicroTime(time.Now())
	if _, err := kc.CoordinationV1().Leases("tide-system").Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tide-system", Name: "tide"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs,
			AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c := start(t, kc, "a", &both{})
	leaseGets := func() int {
		n := 0
		for _, a := range kc.Actions() {
			if a.GetVerb() == "get" && a.GetResource().Resource == "leases" {
				n++
			}
		}
		return n
	}
	waitFor(t, "campaign attempts", func() bool { return leaseGets() >= 4 })
	if c.leading.Load() || c.writes.Load() != 0 {
		t.Errorf("leading %v, writes %d: want a follower that does nothing", c.leading.Load(), c.writes.Load())
	}
}

// TestTermEndsWhenTheLeaseIsLost: when renewals fail, the term's context
// is cancelled while Run goes on; the next term starts only after the
// previous term's function returned, however long it takes.
func TestTermEndsWhenTheLeaseIsLost(t *testing.T) {
	kc := kubefake.NewClientset()
	var failing atomic.Bool
	kc.PrependReactor("update", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failing.Load() {
			return true, nil, errors.New("apiserver unreachable")
		}
		return false, nil, nil
	})
	var (
		mu     sync.Mutex
		events []string
	)
	record := func(e string) { mu.Lock(); events = append(events, e); mu.Unlock() }
	terms := make(chan context.Context, 2)
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var n atomic.Int32
	go func() {
		done <- Run(ctx, kc, config("a"), func(term context.Context) {
			i := n.Add(1)
			record("start")
			terms <- term
			<-term.Done()
			if i == 1 {
				<-release // a slow term: it outlives its context
			}
			record("end")
		})
	}()
	defer func() { cancel(); <-done }()

	first := <-terms
	failing.Store(true)
	select {
	case <-first.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the term outlived its lost Lease")
	}
	if ctx.Err() != nil {
		t.Fatal("Run's own context ended")
	}
	failing.Store(false)
	// A second term now would overlap the first, which has not returned:
	// give the election many retry periods to start one.
	select {
	case <-terms:
		t.Fatal("a second term started while the first was still running")
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	select {
	case second := <-terms:
		if second.Err() != nil {
			t.Error("the second term started cancelled")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no second term after the first returned")
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(events, ","); got != "start,end,start" {
		t.Errorf("terms %s, want start,end,start", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no lease", Config{Identity: "a"}, "LeaseName"},
		{"sub-second lease", Config{LeaseName: "l", LeaseNamespace: "n", LeaseDuration: 500 * time.Millisecond,
			RenewDeadline: 100 * time.Millisecond, RetryPeriod: 10 * time.Millisecond}, "< 1s"},
		{"renew deadline too long", Config{LeaseName: "l", LeaseNamespace: "n", LeaseDuration: time.Second,
			RenewDeadline: time.Second}, "greater than RenewDeadline"},
		{"retry too long", Config{LeaseName: "l", LeaseNamespace: "n", RetryPeriod: 9 * time.Second}, "RetryPeriod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(context.Background(), kubefake.NewClientset(), tc.cfg, func(context.Context) { t.Error("led") })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	c := Config{LeaseName: "l", LeaseNamespace: "n"}
	if err := c.Validate(); err != nil || c.Identity == "" || c.LeaseDuration != DefaultLeaseDuration ||
		c.RenewDeadline != DefaultRenewDeadline || c.RetryPeriod != DefaultRetryPeriod {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}
