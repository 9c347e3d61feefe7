package kube

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
)

func TestCheck(t *testing.T) {
	tol := func(up *float64) hpa.HPA {
		return hpa.HPA{MinReplicas: 1, MaxReplicas: 10, Behavior: &hpa.Behavior{ScaleUp: &hpa.Rules{Tolerance: up}}}
	}
	so := func(cooldown, polling time.Duration, min *int32) *ScaledObjectInfo {
		return &ScaledObjectInfo{CooldownPeriod: cooldown, PollingInterval: polling, Min: min}
	}
	replicas := Facts{ReplicasMode: true, MetricName: "s0-queue-jobs"}
	good := snap(tol(ptr(0.0)), 5, replicasMetric)
	withSO := func(s Snapshot, so *ScaledObjectInfo) Snapshot { s.ScaledObject = so; return s }
	cases := []struct {
		name  string
		s     Snapshot
		f     Facts
		codes []string
		// text the first warning's message must contain
		says []string
	}{
		{name: "nothing to say", s: good, f: replicas},
		{name: "raw mode ignores tolerance and target", s: snap(hpa.HPA{MinReplicas: 1, MaxReplicas: 10}, 5, ext("s0-queue-jobs", 5000, nil)),
			f: Facts{MetricName: "s0-queue-jobs"}},
		{name: "max above partitions", s: snap(hpa.HPA{MinReplicas: 1, MaxReplicas: 12}, 5), f: Facts{Partitions: 8},
			codes: []string{MaxAbovePartitions}, says: []string{"keda-hpa-orders", "maxReplicas 12", "8 partitions", "maxReplicaCount to 8"}},
		{name: "max at partitions", s: snap(hpa.HPA{MinReplicas: 1, MaxReplicas: 8}, 5), f: Facts{Partitions: 8}},
		{name: "partitions unknown", s: snap(hpa.HPA{MinReplicas: 1, MaxReplicas: 80}, 5), f: Facts{}},
		{name: "replicas mode under the default tolerance", s: snap(hpa.HPA{MinReplicas: 1, MaxReplicas: 10}, 5, replicasMetric), f: replicas,
			codes: []string{ReplicasModeTolerance}, says: []string{"default 0.1", "(10 -> 11)", "scaleUp.tolerance: 0", "1.33"}},
		{name: "replicas mode with a behavior but no tolerance", s: snap(tol(nil), 5, replicasMetric), f: replicas,
			codes: []string{ReplicasModeTolerance}},
		{name: "replicas mode with tolerance 0.05", s: snap(tol(ptr(0.05)), 5, replicasMetric), f: replicas,
			codes: []string{ReplicasModeTolerance}, says: []string{"tolerance 0.05", "(20 -> 21)"}},
		{name: "a tolerance the ScaledObject set but the HPA lost", s: withSO(snap(tol(nil), 5, replicasMetric), &ScaledObjectInfo{CooldownPeriod: time.Hour, ScaleUpTolerance: ptr(0.0)}), f: replicas, codes: []string{ReplicasModeTolerance}, says: []string{"drops the field", "HPAConfigurableTolerance"}},
		{name: "replicas mode with a per-pod target of 5", s: snap(tol(ptr(0.0)), 5, ext("s0-queue-jobs", 5000, nil)), f: replicas,
			codes: []string{ReplicasModeTarget}, says: []string{"AverageValue 5000m", "not AverageValue 1"}},
		{name: "replicas mode with a Value target", s: snap(tol(ptr(0.0)), 5, Metric{Name: "s0-queue-jobs", Kind: replicasMetric.Kind,
			Target: hpa.MetricTarget{Type: hpa.Value, Milli: 1000}}), f: replicas,
			codes: []string{ReplicasModeTarget}, says: []string{"Value target", "ready pods"}},
		{name: "target check skipped for an unknown metric", s: snap(tol(ptr(0.0)), 5, ext("s3-elsewhere", 5000, nil)), f: replicas},
		{name: "cooldown below the scaler's poll", s: withSO(good, so(10*time.Second, 5*time.Second, nil)),
			f: Facts{PollInterval: time.Minute}, codes: []string{CooldownBelowPoll}, says: []string{"cooldownPeriod 10s", "scaler's poll interval 1m0s"}},
		{name: "cooldown below KEDA's pollingInterval", s: withSO(good, so(10*time.Second, 30*time.Second, nil)),
			f: Facts{PollInterval: time.Second}, codes: []string{CooldownBelowPoll}, says: []string{"its pollingInterval 30s"}},
		{name: "cooldown moot above minReplicaCount 0", s: withSO(good, so(10*time.Second, 30*time.Second, ptr[int32](1))),
			f: Facts{PollInterval: time.Minute}},
		{name: "cooldown at the poll", s: withSO(good, so(time.Minute, 30*time.Second, ptr[int32](0))),
			f: Facts{PollInterval: time.Minute}},
		{name: "no ScaledObject, no cooldown check", s: good, f: Facts{PollInterval: time.Hour}},
		{name: "all four, in code order", s: withSO(snap(hpa.HPA{MinReplicas: 1, MaxReplicas: 50}, 5, ext("s0-queue-jobs", 2000, nil)), so(0, 30*time.Second, nil)), f: Facts{ReplicasMode: true, Partitions: 10, MetricName: "s0-queue-jobs"},
			codes: []string{MaxAbovePartitions, ReplicasModeTolerance, ReplicasModeTarget, CooldownBelowPoll}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := Check(tc.s, tc.f)
			var codes []string
			for _, w := range ws {
				codes = append(codes, w.Code)
			}
			if !slices.Equal(codes, tc.codes) {
				t.Fatalf("codes = %v, want %v; warnings %q", codes, tc.codes, ws)
			}
			for _, s := range tc.says {
				if !strings.Contains(ws[0].Message, s) {
					t.Errorf("message %q lacks %q", ws[0].Message, s)
				}
			}
		})
	}
}

func TestSmallestIgnoredStep(t *testing.T) {
	cases := []struct {
		tol  float64
		want int64
	}{
		{0.1, 10}, // 11/10 == 1.0+0.1 in float64: inside
		{0.05, 20},
		{0.5, 2},
		{1, 1},
		{0.3, 4}, // 4/3 > 1.3 is outside; 5/4 inside
		{0, 0},
		{1e-12, 0},
	}
	for _, tc := range cases {
		if got := smallestIgnoredStep(tc.tol); got != tc.want {
			t.Errorf("smallestIgnoredStep(%g) = %d, want %d", tc.tol, got, tc.want)
		}
	}
}
