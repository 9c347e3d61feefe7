package zero

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

func TestSyncScalesFromZeroOnActivity(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0})
	r.lags.set("orders", 42, nil)
	c := r.controller(r.target("orders", "orders"))
	c.Sync(t.Context())

	if r.scales.get("orders") != 1 {
		t.Fatalf("replicas %d, want 0 -> 1", r.scales.get("orders"))
	}
	evs := r.rec.all()
	if len(evs) != 1 || evs[0].reason != ReasonScaledFromZero {
		t.Fatalf("events %+v, want one %s", evs, ReasonScaledFromZero)
	}
	io := evs[0].obj.(*corev1.ObjectReference)
	if io.Kind != "Deployment" || io.APIVersion != "apps/v1" || io.Namespace != "team" || io.Name != "orders" || io.UID != "uid-orders" {
		t.Errorf("Event involves %+v", io)
	}
	if evs[0].typ != corev1.EventTypeNormal || evs[0].message != "scaled from 0 to 1: active at 0 replicas (lag 42 > activation 0)" {
		t.Errorf("Event %s %q", evs[0].typ, evs[0].message)
	}
	// Later checks leave 1 to the HPA: one write in all.
	for range 3 {
		c.Sync(t.Context())
	}
	if w := r.scales.Writes(); len(w) != 1 || len(r.rec.all()) != 1 {
		t.Errorf("writes = %v, events %d; want [1] and 1", w, len(r.rec.all()))
	}
}

func TestSyncScalesToZeroAfterCooldown(t *testing.T) {
	r := newRig(map[string]int32{"orders": 1})
	c := r.controller(r.target("orders", "orders"))

	// The first check starts the cooldown; within it nothing is written.
	c.Sync(t.Context())
	r.clock.Add(4 * time.Minute)
	c.Sync(t.Context())
	if w := r.scales.Writes(); len(w) != 0 || r.scales.get("orders") != 1 {
		t.Fatalf("within cooldown: writes %v, replicas %d", w, r.scales.get("orders"))
	}

	r.clock.Add(time.Minute)
	c.Sync(t.Context())
	if r.scales.get("orders") != 0 {
		t.Fatalf("replicas %d after the cooldown, want 0", r.scales.get("orders"))
	}
	evs := r.rec.all()
	if want := "scaled from 1 to 0: inactive for 5m0s >= cooldown 5m0s (lag 0 <= activation 0)"; len(evs) != 1 ||
		evs[0].reason != ReasonScaledToZero || evs[0].message != want {
		t.Errorf("events %+v, want one %s %q", evs, ReasonScaledToZero, want)
	}
	if w := r.scales.Writes(); len(w) != 1 || w[0] != 0 {
		t.Errorf("writes = %v, want [0]", w)
	}
}

func TestSyncNoWriteOnActivityError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		topics []string
	}{
		{"single trigger fails", []string{"orders"}},
		{"one of two fails, the other inactive", []string{"orders", "billing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(map[string]int32{"orders": 1})
			c := r.controller(r.target("orders", tc.topics...))
			c.Sync(t.Context())
			// Long past the cooldown, but the trigger cannot be read.
			r.lags.set("orders", 0, errors.New("broker unreachable"))
			r.clock.Add(time.Hour)
			for range 5 {
				c.Sync(t.Context())
			}
			if w := r.scales.Writes(); len(w) != 0 || r.scales.get("orders") != 1 || len(r.rec.all()) != 0 {
				t.Errorf("writes %v, replicas %d, events %d: want none, 1, 0", w, r.scales.get("orders"), len(r.rec.all()))
			}
		})
	}
}

// Any active trigger makes the workload active, even when another fails.
func TestSyncOneActiveTriggerIsEnough(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0})
	r.lags.set("orders", 0, errors.New("broker unreachable"))
	r.lags.set("billing", 3, nil)
	c := r.controller(r.target("orders", "orders", "billing"))
	c.Sync(t.Context())
	if r.scales.get("orders") != 1 {
		t.Errorf("replicas %d, want 1", r.scales.get("orders"))
	}
}

func TestSetTargetsForgetsDroppedState(t *testing.T) {
	r := newRig(map[string]int32{"orders": 1, "billing": 1})
	orders, billing := r.target("orders", "orders"), r.target("billing", "billing")
	c := r.controller(orders, billing)
	c.Sync(t.Context())
	if len(c.states) != 2 || !c.states[orders.Target].LastActive.Equal(t0) {
		t.Fatalf("states = %v", c.states)
	}
	c.SetTargets([]Target{orders})
	if _, ok := c.states[billing.Target]; ok || len(c.states) != 1 {
		t.Errorf("states after drop = %v", c.states)
	}
	// Kept state still counts: an hour later orders goes to zero at once.
	r.clock.Add(time.Hour)
	c.Sync(t.Context())
	if r.scales.get("orders") != 0 || r.scales.get("billing") != 1 || len(r.rec.all()) != 1 {
		t.Errorf("orders %d, billing %d, events %v", r.scales.get("orders"), r.scales.get("billing"), r.rec.all())
	}
}

// A new term starts the cooldown afresh: what this replica saw before it
// may be older than what the previous leader saw.
func TestForgetRestartsTheCooldown(t *testing.T) {
	r := newRig(map[string]int32{"orders": 1})
	c := r.controller(r.target("orders", "orders"))
	c.Sync(t.Context()) // last active: t0, as far as this replica knows
	r.clock.Add(time.Hour)
	c.Forget()
	c.Sync(t.Context())
	if r.scales.get("orders") != 1 {
		t.Fatal("a new term took the workload to zero on its predecessor's stale history")
	}
	r.clock.Add(5 * time.Minute)
	c.Sync(t.Context())
	if r.scales.get("orders") != 0 {
		t.Errorf("replicas %d one cooldown into the term, want 0", r.scales.get("orders"))
	}
}

func TestConflictWritesNoEvent(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0})
	r.lags.set("orders", 1, nil)
	// The HPA (or a user) scales between the controller's read and write.
	r.scales.beforeUpdate = func() { r.scales.set("orders", 3) }
	c := r.controller(r.target("orders", "orders"))
	c.Sync(t.Context())
	if r.scales.get("orders") != 3 || len(r.scales.Writes()) != 0 || len(r.rec.all()) != 0 {
		t.Errorf("replicas %d, writes %v, events %v: the HPA's 3 must stand", r.scales.get("orders"), r.scales.Writes(), r.rec.all())
	}
}

// TestNoWriteAfterTheTermEnds: leadership is lost between the decision's
// read and the write (the fake ignores contexts, as a client may): nothing
// is written and no Event claims a write.
func TestNoWriteAfterTheTermEnds(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0, "billing": 0})
	r.lags.set("orders", 42, nil)
	r.lags.set("billing", 42, nil)
	term, lose := context.WithCancel(t.Context())
	r.scales.beforeGet = lose
	updates := 0
	r.scales.beforeUpdate = func() { updates++ }
	c := r.controller(r.target("orders", "orders"), r.target("billing", "billing"))
	c.Sync(term)
	if updates != 0 || r.scales.get("orders") != 0 || r.scales.get("billing") != 0 || len(r.rec.all()) != 0 {
		t.Errorf("UpdateScale called %d times, replicas %d/%d, events %v: want no write after the term ended",
			updates, r.scales.get("orders"), r.scales.get("billing"), r.rec.all())
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(newScales(nil), Config{}); err == nil {
		t.Error("no Recorder accepted")
	}
	if _, err := New(nil, Config{Recorder: &recorder{}}); err == nil {
		t.Error("no scale client accepted")
	}
}
