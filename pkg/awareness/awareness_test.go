package awareness

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
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

// parse is md over testqueue's fake source: queue "jobs", target 5, metric
// "queue-jobs".
func parse(t *testing.T, md map[string]string) *trigger.Trigger {
	t.Helper()
	reg, err := trigger.NewRegistry(testqueue.Source(testqueue.MetricName(func(q string) string { return "queue-" + q })))
	if err != nil {
		t.Fatal(err)
	}
	md["source"] = "fake"
	md["queue"] = "jobs"
	tr, err := reg.Parse(md)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func newAwareness(table *hpaTable) (*Awareness, *metrics.Metrics) {
	met := metrics.New(prometheus.NewRegistry())
	return New(Config{HPAs: table, Predictor: kube.NewPredictor(hpa.DefaultConfig()), Interval: time.Hour,
		PollInterval: 20 * time.Millisecond, Idle: time.Hour, Metrics: met}), met
}

var so = trigger.Owner{Namespace: "ns", Name: "so"}

// The tolerance trap: in replicas mode the scaler sends 11 for a workload
// at 10, which the default 10 % tolerance swallows; awareness predicts it,
// names the rule and warns. With scaleUp.tolerance 0 the HPA moves.
func TestAwarenessPredictsTheToleranceTrap(t *testing.T) {
	table := &hpaTable{snaps: map[kube.Ref]kube.Snapshot{}}
	a, met := newAwareness(table)
	ref := kube.Ref{Namespace: "ns", ScaledObject: "so"}
	table.set(ref, kedaSnapshot(10, nil))
	now := time.Unix(1_800_000_000, 0)
	tr := parse(t, map[string]string{"metricMode": "replicas"})
	r := tr.Evaluate(sources.Sample{Time: now, Value: 53, Activity: 53}) // ceil(53/5) = 11 replicas
	if r.Value != 11 {
		t.Fatalf("sends %v, want 11", r.Value)
	}
	a.Observe(now, so, tr, r)
	a.cycle(t.Context(), now, time.Hour)
	if got := testutil.ToFloat64(met.HPAPredicted.WithLabelValues("ns", "so")); got != 10 {
		t.Errorf("predicted %v, want 10 (11/10 is inside the tolerance)", got)
	}
	if got := testutil.ToFloat64(met.HPARule.WithLabelValues("ns", "so", "WithinTolerance")); got != 1 {
		t.Errorf("limiting rule WithinTolerance = %v, want 1", got)
	}
	// The status page reads the same prediction.
	if p, ok := a.Predicted(so); !ok || p != (Prediction{Replicas: 10, Rule: "WithinTolerance"}) {
		t.Errorf("Predicted = %+v, %v; want 10 replicas, WithinTolerance", p, ok)
	}
	if got := testutil.ToFloat64(met.ConfigWarnings.WithLabelValues("ns", "so", kube.ReplicasModeTolerance)); got != 1 {
		t.Errorf("ReplicasModeTolerance warning = %v, want 1", got)
	}

	zero := 0.0
	table.set(ref, kedaSnapshot(10, &hpa.Behavior{ScaleUp: &hpa.Rules{Tolerance: &zero}}))
	a.cycle(t.Context(), now.Add(15*time.Second), time.Hour)
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
	a.cycle(t.Context(), now.Add(2*time.Hour), time.Hour)
	if n := testutil.CollectAndCount(met.HPAPredicted); n != 0 {
		t.Errorf("%d predicted series after the ScaledObject went idle, want 0", n)
	}
	if p, ok := a.Predicted(so); ok {
		t.Errorf("Predicted after the ScaledObject went idle = %+v; want none", p)
	}
}

func TestAwarenessErrors(t *testing.T) {
	table := &hpaTable{snaps: map[kube.Ref]kube.Snapshot{}}
	a, met := newAwareness(table)
	now := time.Unix(1_800_000_000, 0)
	tr := parse(t, map[string]string{})
	// No HPA yet: an error counted, nothing predicted; Observe reads nothing.
	a.Observe(now, so, tr, tr.Evaluate(sources.Sample{Time: now, Value: 5, Activity: 5}))
	if table.reads != 0 {
		t.Errorf("Observe read %d HPAs, want none (it is on the RPC path)", table.reads)
	}
	a.cycle(t.Context(), now, time.Hour)
	if got := testutil.ToFloat64(met.HPAErrors.WithLabelValues("ns", "so")); got != 1 {
		t.Errorf("read errors %v, want 1", got)
	}
	if n := testutil.CollectAndCount(met.HPAPredicted); n != 0 {
		t.Errorf("%d predictions without an HPA, want 0", n)
	}
	if p, ok := a.Predicted(so); ok {
		t.Errorf("Predicted without an HPA = %+v; want none", p)
	}
}
