package zero

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLeaderHandover runs two Controllers (two Tide replicas) against one
// API server: only the Lease holder writes, and when its context ends it
// releases the Lease and the other takes over and writes.
func TestLeaderHandover(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0})
	r.act.set("orders", 42, nil)
	a, wa := r.controller(t, "replica-a", target("orders", "orders"))
	b, wb := r.controller(t, "replica-b", target("orders", "orders"))
	stopA, stopB := start(t, a), start(t, b)

	waitFor(t, "a leader", func() bool { return a.Leading() || b.Leading() })
	leader, follower := a, b
	stopLeader, wl, wf := stopA, wa, wb
	if b.Leading() {
		leader, follower, stopLeader, wl, wf = b, a, stopB, wb, wa
	}
	waitFor(t, "scale 0 -> 1", func() bool { return r.scales.get("orders") == 1 })
	// Give the follower many chances to misbehave.
	n := r.act.calls()
	waitFor(t, "checks", func() bool { return r.act.calls() >= n+5 })
	if a.Leading() && b.Leading() {
		t.Fatal("both lead")
	}
	if w := wl.Writes(); len(w) != 1 || w[0] != 1 {
		t.Errorf("leader writes %v, want [1]", w)
	}
	if w := wf.Writes(); len(w) != 0 {
		t.Errorf("follower writes %v, want none", w)
	}

	// The leader shuts down; ReleaseOnCancel hands the Lease over well
	// before it would expire.
	stopLeader()
	if leader.Leading() {
		t.Fatal("stopped controller still leading")
	}
	released := time.Now()
	waitFor(t, "handover", follower.Leading)
	if d := time.Since(released); d >= 2*time.Second {
		t.Errorf("handover took %s, not less than the lease duration", d)
	}
	lease, err := r.kc.CoordinationV1().Leases("tide-system").Get(context.Background(), "tide-zero", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id := follower.cfg.Identity; lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity != id {
		t.Errorf("lease holder %v, want %s", lease.Spec.HolderIdentity, id)
	}

	// The new leader acts: the work is gone and the cooldown passes. Its
	// first check starts the cooldown (it has no history of the target).
	r.act.set("orders", 0, nil)
	n = r.act.calls()
	waitFor(t, "checks", func() bool { return r.act.calls() >= n+2 })
	r.clock.Add(time.Hour)
	waitFor(t, "scale 1 -> 0", func() bool { return r.scales.get("orders") == 0 })
	if w := wf.Writes(); len(w) != 1 || w[0] != 0 {
		t.Errorf("new leader writes %v, want [0]", w)
	}
	if w := wl.Writes(); len(w) != 1 {
		t.Errorf("old leader writes %v after stopping", w)
	}
	r.waitEvent(t, ReasonScaledToZero)
}
