package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// hpaTable is an HPAReader answering from a fixed table: the server's part
// is combining what it sent with the HPA; reading HPAs from an API server is
// pkg/hpa/kube's, tested there against client-go's fakes.
type hpaTable struct {
	mu    sync.Mutex
	snaps map[kube.Ref]kube.Snapshot
	reads int
}

func (h *hpaTable) Get(_ context.Context, ref kube.Ref) (kube.Snapshot, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads++
	s, ok := h.snaps[ref]
	if !ok {
		return s, errors.New("horizontalpodautoscalers \"keda-hpa-" + ref.ScaledObject + "\" not found")
	}
	return s, nil
}

func (h *hpaTable) set(ref kube.Ref, s kube.Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.snaps[ref] = s
}

func kedaSnapshot(current int32, b *hpa.Behavior) kube.Snapshot {
	return kube.Snapshot{
		HPAName: "keda-hpa-so",
		HPA:     hpa.HPA{MinReplicas: 1, MaxReplicas: 20, Behavior: b},
		Current: hpa.Current{Spec: current, Status: current, Ready: current},
		Metrics: []kube.Metric{{Name: "s0-queue-jobs", Kind: autoscalingv2.ExternalMetricSourceType,
			Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: 1000}}},
	}
}

// The tolerance trap, end to end through the service: in replicas mode the
// scaler sends 11 for a workload at 10, which the default 10 % tolerance
// swallows; awareness predicts it, names the rule and warns. With
// scaleUp.tolerance 0 the HPA moves.
func TestAwarenessPredictsTheToleranceTrap(t *testing.T) {
	table := &hpaTable{snaps: map[kube.Ref]kube.Snapshot{}}
	h := startServerWith(t, func(c *ServiceConfig) {
		c.Awareness = &AwarenessConfig{HPAs: table, Predictor: kube.NewPredictor(hpa.DefaultConfig()), Interval: time.Hour,
			PollInterval: 20 * time.Millisecond}
	})
	svc := h.srv.svc
	so := kube.Ref{Namespace: "ns", ScaledObject: "so"}
	table.set(so, kedaSnapshot(10, nil))
	h.src.set("jobs", 53) // ceil(53/5) = 11 replicas
	r := ref("queue", "jobs", "target", "5", "metricMode", "replicas")
	resp, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r, MetricName: "queue-jobs"})
	if err != nil {
		t.Fatal(err)
	}
	if v := resp.MetricValues[0].MetricValueFloat; v != 11 {
		t.Fatalf("sent %v, want 11", v)
	}
	met := svc.cfg.Metrics
	now := time.Now()
	svc.aware.cycle(t.Context(), now, time.Hour)
	if got := testutil.ToFloat64(met.HPAPredicted.WithLabelValues("ns", "so")); got != 10 {
		t.Errorf("predicted %v, want 10 (11/10 is inside the tolerance)", got)
	}
	if got := testutil.ToFloat64(met.HPARule.WithLabelValues("ns", "so", "WithinTolerance")); got != 1 {
		t.Errorf("limiting rule WithinTolerance = %v, want 1", got)
	}
	if got := testutil.ToFloat64(met.ConfigWarnings.WithLabelValues("ns", "so", kube.ReplicasModeTolerance)); got != 1 {
		t.Errorf("ReplicasModeTolerance warning = %v, want 1", got)
	}

	zero := 0.0
	table.set(so, kedaSnapshot(10, &hpa.Behavior{ScaleUp: &hpa.Rules{Tolerance: &zero}}))
	svc.aware.cycle(t.Context(), now.Add(15*time.Second), time.Hour)
	if got := testutil.ToFloat64(met.HPAPredicted.WithLabelValues("ns", "so")); got != 11 {
		t.Errorf("with scaleUp.tolerance 0: predicted %v, want 11", got)
	}
	if n := testutil.CollectAndCount(met.HPARule); n != 1 {
		t.Errorf("%d limiting-rule series, want 1 (the old rule's series removed)", n)
	}
	if n := testutil.CollectAndCount(met.ConfigWarnings); n != 0 {
		t.Errorf("%d warning series after the fix, want 0", n)
	}

	// A ScaledObject KEDA stopped asking about is forgotten with its series.
	svc.aware.cycle(t.Context(), now.Add(2*time.Hour), time.Hour)
	if n := testutil.CollectAndCount(met.HPAPredicted); n != 0 {
		t.Errorf("%d predicted series after the ScaledObject went idle, want 0", n)
	}
}

func TestAwarenessPartitionCapAndErrors(t *testing.T) {
	table := &hpaTable{snaps: map[kube.Ref]kube.Snapshot{}}
	h := startServerWith(t, func(c *ServiceConfig) {
		c.Awareness = &AwarenessConfig{HPAs: table, Predictor: kube.NewPredictor(hpa.DefaultConfig()), Interval: time.Hour}
	})
	svc := h.srv.svc
	// No HPA yet: an error counted, nothing predicted, RPCs unaffected.
	h.src.set("jobs", 5)
	r := ref("queue", "jobs")
	if _, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: r}); err != nil {
		t.Fatal(err)
	}
	svc.aware.cycle(t.Context(), time.Now(), time.Hour)
	met := svc.cfg.Metrics
	if got := testutil.ToFloat64(met.HPAErrors.WithLabelValues("ns", "so")); got != 1 {
		t.Errorf("read errors %v, want 1", got)
	}
	if n := testutil.CollectAndCount(met.HPAPredicted); n != 0 {
		t.Errorf("%d predictions without an HPA, want 0", n)
	}
	if table.reads != 1 {
		t.Errorf("%d HPA reads, want 1 (RPCs never read HPAs)", table.reads)
	}
}
