package standalone

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/leader"
	"github.com/tide-scaler/tide/pkg/scale"
	"github.com/tide-scaler/tide/pkg/workload"
	"github.com/tide-scaler/tide/pkg/zero"
)

const ordersYAML = `
triggers:
- name: orders
  namespace: shop
  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: orders}
  minReplicas: 0
  maxReplicas: 10
  cooldownPeriod: 5m
  metadata: {source: fake, queue: orders, activation: "5"METADATA}
`

// TestLatchIsHonouredWithoutKEDA: activity rises above the activation
// threshold, then falls into what the trigger's hysteresis or minimum
// active time still counts as active. The workload stays up, because zero
// asks the very instance whose latch saw the rise; a trigger parsed afresh
// each check would see only the low sample and take it to zero.
func TestLatchIsHonouredWithoutKEDA(t *testing.T) {
	for _, tc := range []struct {
		name, metadata string
		held           float64 // the activity the latch still counts as active
		why            string
	}{
		{"deactivationThreshold", `, deactivationThreshold: "1"`, 3, "orders-depth 3 > deactivationThreshold 1: still active"},
		{"minActiveDuration", `, minActiveDuration: 20m`, 0, "orders-depth 0 <= deactivationThreshold 5: active for minActiveDuration 20m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd := testqueue.NewReader()
			f, cache := open(t, rd, strings.Replace(ordersYAML, "METADATA", tc.metadata, 1))
			clock := testclock.New(t0)
			sc := &scales{replicas: map[string]int32{"orders": 0}}
			rec := &recorder{}
			c := newCluster(nil)
			r, err := newRunner(Options{Workloads: f.Current, Cache: cache, Kube: c.kc, Dynamic: c.dc, Mapper: c.mapper, Now: clock.Now}, sc, rec)
			if err != nil {
				t.Fatal(err)
			}
			tick := func(d time.Duration, activity float64) {
				clock.Add(d)
				rd.SetDemand("orders", clock.Now(), activity)
				r.step(t.Context())
			}
			tick(0, 6)
			if sc.get("orders") != 1 {
				t.Fatalf("replicas %d after activity 6 > activation 5, want 1", sc.get("orders"))
			}
			tick(10*time.Minute, tc.held) // past the cooldown since the rise
			if sc.get("orders") != 1 || len(rec.all()) != 1 {
				t.Fatalf("activity %v, held by the latch: replicas %d, events %v; want the workload kept at 1", tc.held, sc.get("orders"), rec.all())
			}
			if got, _, _ := (activity{cache, f.Current().Workloads[0].Trigger()}).Activity(t.Context()); !got {
				t.Error("the latch no longer holds")
			}
			if _, why, _ := (activity{cache, f.Current().Workloads[0].Trigger()}).Activity(t.Context()); why != tc.why {
				t.Errorf("why %q, want %q", why, tc.why)
			}
			// Once activity really ends, the workload goes after the cooldown.
			tick(time.Minute, 0)
			if sc.get("orders") != 1 {
				t.Fatalf("replicas %d within the cooldown after the last active check", sc.get("orders"))
			}
			tick(25*time.Minute, 0)
			if ev := rec.all(); sc.get("orders") != 0 || len(ev) != 2 || !strings.HasPrefix(ev[1], zero.ReasonScaledToZero+": scaled from 1 to 0") ||
				!strings.HasSuffix(ev[1], "(orders-depth 0 <= activation 5)") {
				t.Errorf("replicas %d, events %q; want 0 and a TideScaledToZero saying why", sc.get("orders"), ev)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	rd := testqueue.NewReader()
	f, cache := open(t, rd, `
triggers:
- {name: a, namespace: ns, minReplicas: 0, maxReplicas: 3, cooldownPeriod: 1m, scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: a}, metadata: {source: fake, queue: a}}
- {name: a2, namespace: ns, minReplicas: 0, maxReplicas: 3, cooldownPeriod: 3m, scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: a}, metadata: {source: fake, queue: a2}}
- {name: b, namespace: ns, minReplicas: 1, maxReplicas: 3, scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: b}, metadata: {source: fake, queue: b}}
- {name: c, namespace: ns, minReplicas: 0, maxReplicas: 3, scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: c}, metadata: {source: fake, queue: c}}
- {name: c1, namespace: ns, minReplicas: 1, maxReplicas: 3, scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: c}, metadata: {source: fake, queue: c1}}
`)
	got := targets(f.Current(), cache)
	want := scale.Target{Namespace: "ns", APIVersion: "apps/v1", Kind: "Deployment", Name: "a"}
	if len(got) != 1 || got[0].Target != want || len(got[0].Triggers) != 2 || got[0].Cooldown != 3*time.Minute {
		t.Fatalf("targets = %+v; want only a, with both its triggers and the longer cooldown", got)
	}
	rd.SetDemand("a2", t0, 1)
	if active, _, err := got[0].Triggers[1].Activity(t.Context()); !active || err != nil {
		t.Errorf("a2's trigger: %v, %v", active, err)
	}
	if targets(nil, cache) != nil {
		t.Error("targets(nil) not empty")
	}
}

func TestActivityIsUnknownOnAnUpstreamError(t *testing.T) {
	rd := testqueue.NewReader()
	f, cache := open(t, rd, strings.Replace(ordersYAML, "METADATA", "", 1))
	rd.Fail("orders", errors.New("broker down"))
	a := activity{cache, f.Current().Workloads[0].Trigger()}
	if active, _, err := a.Activity(t.Context()); err == nil || active {
		t.Errorf("Activity = %v, %v; want an error, never inactive", active, err)
	}
	rd.SetDemand("orders", t0, 5)
	if active, why, err := a.Activity(t.Context()); active || err != nil || why != "orders-depth 5 <= activation 5" {
		t.Errorf("Activity = %v %q %v", active, why, err)
	}
}

// lease are fast election timings for tests.
func lease(id string) leader.Config {
	return leader.Config{LeaseName: "tide", LeaseNamespace: "shop", Identity: id,
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 50 * time.Millisecond}
}

// TestRun wires it all against fake API servers: the leader takes the
// workload from zero, records the Event, and keeps headroom for the demand
// the HPA has not reached yet.
func TestRun(t *testing.T) {
	rd := testqueue.NewReader()
	f, cache := open(t, rd, strings.Replace(ordersYAML, "METADATA", "", 1)+"  nodeLeadTime: 1m\n")
	rd.SetDemand("orders", t0, 20) // 4 replicas of demand
	c := newCluster(map[string]int32{"orders": 0})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Workloads: f.Current, Cache: cache, Kube: c.kc, Dynamic: c.dc, Mapper: c.mapper,
			Lease: lease("a"), Interval: 10 * time.Millisecond, Now: func() time.Time { return t0 }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor(t, "0 -> 1", func() bool { return c.get("orders") == 1 })
	waitFor(t, "the Event", func() bool {
		evs, _ := c.kc.CoreV1().Events("shop").List(t.Context(), metav1.ListOptions{})
		for _, e := range evs.Items {
			if e.Reason == zero.ReasonScaledFromZero && e.InvolvedObject.Name == "orders" &&
				strings.Contains(e.Message, "(orders-depth 20 > activation 5)") {
				return true
			}
		}
		return false
	})
	waitFor(t, "3 balloons of headroom (4 needed, 1 running)", func() bool {
		d, err := c.kc.AppsV1().Deployments("shop").Get(t.Context(), "orders-tide-balloon", metav1.GetOptions{})
		return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == 3
	})
}

// A replica that does not hold the Lease reads demand (its headroom
// history) but writes nothing.
func TestRunFollowerWritesNothing(t *testing.T) {
	rd := testqueue.NewReader()
	f, cache := open(t, rd, strings.Replace(ordersYAML, "METADATA", "", 1)+"  nodeLeadTime: 1m\n")
	rd.SetDemand("orders", t0, 20)
	c := newCluster(map[string]int32{"orders": 0})
	holder, secs, now := "other", int32(3600), metav1.NewMicroTime(time.Now())
	if _, err := c.kc.CoordinationV1().Leases("shop").Create(t.Context(), &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "tide"},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, AcquireTime: &now, RenewTime: &now},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Workloads: f.Current, Cache: cache, Kube: c.kc, Dynamic: c.dc, Mapper: c.mapper,
			Lease: lease("a"), Interval: 10 * time.Millisecond})
	}()
	waitFor(t, "demand reads", func() bool { return rd.Reads() >= 10 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := writes(c.kc, c.dc); n != 0 || c.get("orders") != 0 {
		t.Errorf("%d writes, replicas %d: a follower must write nothing", n, c.get("orders"))
	}
}

func TestRunValidates(t *testing.T) {
	kc := kubefake.NewClientset()
	if err := Run(t.Context(), Options{Kube: kc}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Errorf("Run without a configuration: %v", err)
	}
	rd := testqueue.NewReader()
	f, cache := open(t, rd, strings.Replace(ordersYAML, "METADATA", "", 1))
	c := newCluster(nil)
	var led atomic.Bool
	err := Run(t.Context(), Options{Workloads: func() *workload.Config { led.Store(true); return f.Current() },
		Cache: cache, Kube: c.kc, Dynamic: c.dc, Mapper: c.mapper, Lease: leader.Config{LeaseName: "x"}})
	if err == nil || !strings.Contains(err.Error(), "LeaseNamespace") || led.Load() {
		t.Errorf("Run with a bad lease: %v (started: %v)", err, led.Load())
	}
}
