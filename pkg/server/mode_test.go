package server

import (
	"sync"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/trigger"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

func TestReplicasModeSendsTheCountWithTargetOne(t *testing.T) {
	h := startServer(t)
	h.src.set("jobs", 23)
	for _, tc := range []struct {
		name       string
		md         []string
		wantTarget float64
		wantValue  float64
	}{
		{"raw sends the demand and the per-replica target", []string{"queue", "jobs", "target", "5"}, 5, 23},
		{"replicas sends ceil(23/5) with target 1", []string{"queue", "jobs", "target", "5", "metricMode", "replicas"}, 1, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ref(tc.md...)
			spec, err := h.client.GetMetricSpec(t.Context(), r)
			if err != nil {
				t.Fatal(err)
			}
			if got := spec.MetricSpecs[0]; got.TargetSizeFloat != tc.wantTarget || got.TargetSize != int64(tc.wantTarget) {
				t.Errorf("target = %v/%d; want %v", got.TargetSizeFloat, got.TargetSize, tc.wantTarget)
			}
			resp, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r, MetricName: "queue-jobs"})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.MetricValues[0]; got.MetricValueFloat != tc.wantValue || got.MetricValue != int64(tc.wantValue) {
				t.Errorf("value = %v/%d; want %v", got.MetricValueFloat, got.MetricValue, tc.wantValue)
			}
		})
	}
}

func TestHysteresisOverGRPC(t *testing.T) {
	h := startServer(t)
	r := ref("queue", "band", "activation", "10", "deactivationThreshold", "2")
	isActive := func() bool {
		resp, err := h.client.IsActive(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Result
	}
	// value reads until the cache holds depth d, so the next IsActive is
	// about that sample.
	settle := func(d float64) {
		h.src.set("band", d)
		waitFor(t, "sample at the new depth", func() bool {
			resp, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r})
			return err == nil && resp.MetricValues[0].MetricValueFloat == d
		})
	}
	for i, step := range []struct {
		depth float64
		want  bool
	}{
		{5, false}, // inside the band from below: not active yet
		{11, true},
		{5, true}, // inside the band from above: stays active
		{2, false},
		{5, false},
	} {
		settle(step.depth)
		if got := isActive(); got != step.want {
			t.Fatalf("step %d (depth %v): active = %v, want %v", i, step.depth, got, step.want)
		}
	}
}

// A spike that no RPC saw still activates a trigger with a minimum active
// time: the follower steps the latch on every sample. Without it the first
// RPC after the spike would read the later, empty sample and answer false.
func TestFollowerSeesSamplesNoRPCAsksAbout(t *testing.T) {
	h := startServer(t)
	r := ref("queue", "spike", "minActiveDuration", "1h")
	if _, err := h.client.GetMetricSpec(t.Context(), r); err != nil { // parses, starts the follower; no I/O
		t.Fatal(err)
	}
	tr, err := h.srv.svc.cfg.Triggers.Get(r.ScalerMetadata, h.srv.svc.cfg.Now())
	if err != nil {
		t.Fatal(err)
	}
	h.src.set("spike", 7)
	waitFor(t, "the follower to latch the spike", func() bool { active, _ := tr.Active(); return active })
	h.src.set("spike", 0)
	waitFor(t, "the cache to hold the empty sample", func() bool {
		resp, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r})
		return err == nil && resp.MetricValues[0].MetricValueFloat == 0
	})
	resp, err := h.client.IsActive(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Result {
		t.Error("IsActive = false after a spike within minActiveDuration; want true")
	}
}

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu   sync.Mutex
	seen []observed
}

type observed struct {
	owner  trigger.Owner
	metric string
	value  float64
	active bool
}

func (r *recorder) Observe(_ time.Time, o trigger.Owner, t *trigger.Trigger, rd trigger.Reading) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, observed{o, t.MetricName(), rd.Value, rd.Active})
}

// TestObserverIsToldWhatWasSent: HPA awareness sees exactly the value and
// activity each RPC answered, for the ScaledObject that asked.
func TestObserverIsToldWhatWasSent(t *testing.T) {
	rec := &recorder{}
	h := startServerWith(t, func(c *ServiceConfig) { c.Observer = rec })
	h.src.set("jobs", 23)
	r := ref("queue", "jobs", "target", "5", "metricMode", "replicas")
	waitFor(t, "the first sample", func() bool {
		_, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r})
		return err == nil
	})
	resp, err := h.client.IsActive(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := observed{trigger.Owner{Namespace: "ns", Name: "so"}, "queue-jobs", 5, resp.Result}
	if len(rec.seen) < 2 || rec.seen[len(rec.seen)-1] != want || rec.seen[len(rec.seen)-2] != want {
		t.Errorf("observed %+v; want GetMetrics and IsActive each to report %+v", rec.seen, want)
	}
}
