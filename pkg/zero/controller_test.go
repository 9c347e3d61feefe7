package zero

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestControllerScalesFromZeroOnActivity(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0})
	r.act.set("orders", 42, nil)
	c, sc := r.controller(t, "a", target("orders", "orders"))
	start(t, c)

	waitFor(t, "scale 0 -> 1", func() bool { return r.scales.get("orders") == 1 })
	ev := r.waitEvent(t, ReasonScaledFromZero)
	io := ev.InvolvedObject
	if io.Kind != "Deployment" || io.APIVersion != "apps/v1" || io.Namespace != "team" || io.Name != "orders" || io.UID != "uid-orders" {
		t.Errorf("Event involves %+v", io)
	}
	if ev.Type != corev1.EventTypeNormal || ev.Message != "scaled from 0 to 1: active at 0 replicas (lag 42 > activation 0)" {
		t.Errorf("Event %s %q", ev.Type, ev.Message)
	}
	// Later checks leave 1 to the HPA: one write in all.
	n := r.act.calls()
	waitFor(t, "more checks", func() bool { return r.act.calls() >= n+3 })
	if w := sc.Writes(); len(w) != 1 {
		t.Errorf("writes = %v, want [1]", w)
	}
}

func TestControllerScalesToZeroAfterCooldown(t *testing.T) {
	r := newRig(map[string]int32{"orders": 1})
	c, sc := r.controller(t, "a", target("orders", "orders"))
	start(t, c)

	// The first check starts the cooldown; within it nothing is written.
	waitFor(t, "checks", func() bool { return r.act.calls() >= 3 })
	r.clock.Add(4 * time.Minute)
	n := r.act.calls()
	waitFor(t, "checks", func() bool { return r.act.calls() >= n+3 })
	if w := sc.Writes(); len(w) != 0 || r.scales.get("orders") != 1 {
		t.Fatalf("within cooldown: writes %v, replicas %d", w, r.scales.get("orders"))
	}

	r.clock.Add(time.Minute)
	waitFor(t, "scale 1 -> 0", func() bool { return r.scales.get("orders") == 0 })
	ev := r.waitEvent(t, ReasonScaledToZero)
	if want := "scaled from 1 to 0: inactive for 5m0s >= cooldown 5m0s (lag 0 <= activation 0)"; ev.Message != want {
		t.Errorf("Event message %q, want %q", ev.Message, want)
	}
	if w := sc.Writes(); len(w) != 1 || w[0] != 0 {
		t.Errorf("writes = %v, want [0]", w)
	}
}

func TestControllerNoWriteOnActivityError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		topics []string
	}{
		{"single trigger fails", []string{"orders"}},
		{"one of two fails, the other inactive", []string{"orders", "billing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(map[string]int32{"orders": 1})
			c, sc := r.controller(t, "a", target("orders", tc.topics...))
			start(t, c)
			waitFor(t, "checks", func() bool { return r.act.calls() >= 2 })
			// Long past the cooldown, but the trigger cannot be read.
			r.act.set("orders", 0, errors.New("broker unreachable"))
			r.clock.Add(time.Hour)
			n := r.act.calls()
			waitFor(t, "checks", func() bool { return r.act.calls() >= n+5 })
			if w := sc.Writes(); len(w) != 0 || r.scales.get("orders") != 1 || len(r.events(t)) != 0 {
				t.Errorf("writes %v, replicas %d, events %d: want none, 1, 0", w, r.scales.get("orders"), len(r.events(t)))
			}
		})
	}
}

func TestControllerNoWriteWhenNotLeader(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0})
	r.act.set("orders", 42, nil)
	holder, secs := "other-replica", int32(3600)
	now := metav1.NewMicroTime(time.Now())
	if _, err := r.kc.CoordinationV1().Leases("tide-system").Create(context.Background(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "tide-system", Name: "tide-zero"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs,
			AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c, sc := r.controller(t, "a", target("orders", "orders"))
	start(t, c)

	leaseGets := func() int {
		n := 0
		for _, a := range r.kc.Actions() {
			if a.GetVerb() == "get" && a.GetResource().Resource == "leases" {
				n++
			}
		}
		return n
	}
	waitFor(t, "campaign attempts", func() bool { return leaseGets() >= 4 })
	if c.Leading() || len(sc.Writes()) != 0 || r.act.calls() != 0 || r.scales.get("orders") != 0 {
		t.Errorf("leading %v, writes %v, activity calls %d, replicas %d: want a follower that does nothing",
			c.Leading(), sc.Writes(), r.act.calls(), r.scales.get("orders"))
	}
}

func TestSetTargetsForgetsDroppedState(t *testing.T) {
	r := newRig(map[string]int32{"orders": 1, "billing": 1})
	c, _ := r.controller(t, "a", target("orders", "orders"), target("billing", "billing"))
	ctx := context.Background()
	rec := &recorder{}
	c.syncAll(ctx, rec)
	if len(c.states) != 2 || !c.states[target("orders").Ref].LastActive.Equal(t0) {
		t.Fatalf("states = %v", c.states)
	}
	c.SetTargets([]Target{target("orders", "orders")})
	if _, ok := c.states[target("billing").Ref]; ok || len(c.states) != 1 {
		t.Errorf("states after drop = %v", c.states)
	}
	// Kept state still counts: an hour later orders goes to zero at once.
	r.clock.Add(time.Hour)
	c.syncAll(ctx, rec)
	if r.scales.get("orders") != 0 || r.scales.get("billing") != 1 || len(rec.events) != 1 {
		t.Errorf("orders %d, billing %d, events %v", r.scales.get("orders"), r.scales.get("billing"), rec.events)
	}
}

func TestConflictWritesNoEvent(t *testing.T) {
	r := newRig(map[string]int32{"orders": 0})
	r.act.set("orders", 1, nil)
	// The HPA (or a user) scales between the controller's read and write.
	r.dc.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r.scales.set("orders", 3)
		return false, nil, nil
	})
	c, sc := r.controller(t, "a", target("orders", "orders"))
	rec := &recorder{}
	c.syncAll(context.Background(), rec)
	if r.scales.get("orders") != 3 || len(sc.Writes()) != 0 || len(rec.events) != 0 {
		t.Errorf("replicas %d, writes %v, events %v: the HPA's 3 must stand", r.scales.get("orders"), sc.Writes(), rec.events)
	}
}

func TestNewValidates(t *testing.T) {
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
			_, err := New(kubefake.NewClientset(), nil, nil, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
