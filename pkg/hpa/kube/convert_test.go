package kube

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tide-scaler/tide/pkg/hpa"
)

func ptr[T any](v T) *T { return &v }

func qty(s string) *resource.Quantity { q := resource.MustParse(s); return &q }

// newHPA is a KEDA-made HPA for ScaledObject so in namespace ns.
func newHPA(ns, name string, min *int32, max int32, metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "worker"},
			MinReplicas:    min, MaxReplicas: max, Metrics: metrics,
		},
	}
}

func external(name string, tt autoscalingv2.MetricTargetType, target string) autoscalingv2.MetricSpec {
	t := autoscalingv2.MetricTarget{Type: tt}
	if tt == autoscalingv2.ValueMetricType {
		t.Value = qty(target)
	} else {
		t.AverageValue = qty(target)
	}
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType,
		External: &autoscalingv2.ExternalMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: name}, Target: t}}
}

func cpu(util int32) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
		Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}
}

func externalStatus(name string, value, average *resource.Quantity) autoscalingv2.MetricStatus {
	return autoscalingv2.MetricStatus{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricStatus{
		Metric: autoscalingv2.MetricIdentifier{Name: name}, Current: autoscalingv2.MetricValueStatus{Value: value, AverageValue: average}}}
}

func TestModel(t *testing.T) {
	maxSel := autoscalingv2.MaxChangePolicySelect
	bad := autoscalingv2.ScalingPolicySelect("Fastest")
	cases := []struct {
		name    string
		h       *autoscalingv2.HorizontalPodAutoscaler
		want    hpa.HPA
		wantErr string
	}{
		{name: "nil minReplicas is 1, nil behavior stays nil", h: newHPA("ns", "h", nil, 10),
			want: hpa.HPA{MinReplicas: 1, MaxReplicas: 10}},
		{name: "minReplicas 0 is scale-to-zero", h: newHPA("ns", "h", ptr[int32](0), 5),
			want: hpa.HPA{MinReplicas: 0, MaxReplicas: 5}},
		{name: "behavior field by field, unset stays unset", h: func() *autoscalingv2.HorizontalPodAutoscaler {
			h := newHPA("ns", "h", ptr[int32](2), 20)
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{Tolerance: qty("0"), SelectPolicy: &maxSel,
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: 15}}},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr[int32](60), Tolerance: qty("50m")},
			}
			return h
		}(), want: hpa.HPA{MinReplicas: 2, MaxReplicas: 20, Behavior: &hpa.Behavior{
			ScaleUp: &hpa.Rules{Tolerance: ptr(0.0), SelectPolicy: hpa.SelectMax,
				Policies: []hpa.Policy{{Type: hpa.PodsPolicy, Value: 4, PeriodSeconds: 15}}},
			ScaleDown: &hpa.Rules{StabilizationWindowSeconds: ptr[int32](60), Tolerance: ptr(0.05)},
		}}},
		{name: "empty behavior stays empty, not nil", h: func() *autoscalingv2.HorizontalPodAutoscaler {
			h := newHPA("ns", "h", nil, 3)
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{}
			return h
		}(), want: hpa.HPA{MinReplicas: 1, MaxReplicas: 3, Behavior: &hpa.Behavior{}}},
		{name: "nil", h: nil, wantErr: "nil HorizontalPodAutoscaler"},
		{name: "maxReplicas 0", h: newHPA("ns", "h", nil, 0), wantErr: "hpa ns/h: spec.maxReplicas: invalid value 0"},
		{name: "min above max", h: newHPA("ns", "h", ptr[int32](5), 3), wantErr: "hpa ns/h: spec.minReplicas: invalid value 5"},
		{name: "negative min", h: newHPA("ns", "h", ptr[int32](-1), 3), wantErr: "spec.minReplicas: invalid value -1"},
		{name: "invalid behavior names the field", h: func() *autoscalingv2.HorizontalPodAutoscaler {
			h := newHPA("ns", "h", nil, 3)
			h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: &autoscalingv2.HPAScalingRules{SelectPolicy: &bad}}
			return h
		}(), wantErr: `hpa ns/h: spec: behavior.scaleUp.selectPolicy: invalid value "Fastest"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Model(tc.h)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Model() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Model() = %s, want %s", dump(got), dump(tc.want))
			}
		})
	}
}

// dump prints an HPA with its pointers followed.
func dump(h hpa.HPA) string {
	s := func(r *hpa.Rules) string {
		if r == nil {
			return "nil"
		}
		out := "{"
		if r.StabilizationWindowSeconds != nil {
			out += " window=" + itoa(int64(*r.StabilizationWindowSeconds))
		}
		if r.Tolerance != nil {
			out += " tol=" + ftoa(*r.Tolerance)
		}
		return out + " select=" + string(r.SelectPolicy) + " policies=" + sprint(r.Policies) + " }"
	}
	if h.Behavior == nil {
		return sprint(h.MinReplicas, h.MaxReplicas, "nil")
	}
	return sprint(h.MinReplicas, h.MaxReplicas, "up", s(h.Behavior.ScaleUp), "down", s(h.Behavior.ScaleDown))
}

func TestMetrics(t *testing.T) {
	h := newHPA("ns", "h", nil, 10,
		external("s0-kafka-orders", autoscalingv2.AverageValueMetricType, "10"),
		cpu(80),
		external("s1-redis-jobs", autoscalingv2.ValueMetricType, "2500m"),
		external("s2-failing", autoscalingv2.AverageValueMetricType, "1"),
	)
	h.Status.CurrentReplicas = 4
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{
		externalStatus("s0-kafka-orders", nil, qty("7500m")), // per pod: 4 pods -> 30 total
		{}, // cpu status left out on purpose; a failed metric's entry is empty upstream
		externalStatus("s1-redis-jobs", qty("12"), nil),
	}
	want := []Metric{
		{Name: "s0-kafka-orders", Kind: autoscalingv2.ExternalMetricSourceType,
			Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: 10000}, Current: ptr[int64](30000)},
		{Name: "cpu", Kind: autoscalingv2.ResourceMetricSourceType},
		{Name: "s1-redis-jobs", Kind: autoscalingv2.ExternalMetricSourceType,
			Target: hpa.MetricTarget{Type: hpa.Value, Milli: 2500}, Current: ptr[int64](12000)},
		{Name: "s2-failing", Kind: autoscalingv2.ExternalMetricSourceType,
			Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: 1000}},
	}
	got := Metrics(h)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Metrics() =\n%s\nwant\n%s", sprint(got), sprint(want))
	}
	if got[1].Modelled() || !got[0].Modelled() {
		t.Errorf("Modelled: cpu %v, external %v", got[1].Modelled(), got[0].Modelled())
	}

	t.Run("average without currentReplicas has no total", func(t *testing.T) {
		h := h.DeepCopy()
		h.Status.CurrentReplicas = 0
		if c := Metrics(h)[0].Current; c != nil {
			t.Errorf("Current = %d, want nil", *c)
		}
	})
	t.Run("status of the other type is not read", func(t *testing.T) {
		h := h.DeepCopy()
		h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{externalStatus("s0-kafka-orders", qty("30"), nil)}
		if c := Metrics(h)[0].Current; c != nil {
			t.Errorf("Current = %d, want nil", *c)
		}
	})
	t.Run("a target the model does not know fails in Sync", func(t *testing.T) {
		m := Metrics(newHPA("ns", "h", nil, 1, autoscalingv2.MetricSpec{Type: autoscalingv2.ExternalMetricSourceType,
			External: &autoscalingv2.ExternalMetricSource{Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType}}}))
		if m[0].Target != (hpa.MetricTarget{Type: "Utilization"}) {
			t.Errorf("Target = %+v", m[0].Target)
		}
	})
	if Metrics(nil) != nil {
		t.Error("Metrics(nil) != nil")
	}
}

func itoa(i int64) string   { return strconv.FormatInt(i, 10) }
func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// sprint is fmt.Sprint that shows a Metric's Current rather than its address.
func sprint(args ...any) string {
	for i, a := range args {
		ms, ok := a.([]Metric)
		if !ok {
			continue
		}
		var lines []string
		for _, m := range ms {
			cur := "nil"
			if m.Current != nil {
				cur = itoa(*m.Current)
			}
			lines = append(lines, fmt.Sprintf("  {%s %s %+v current=%s}", m.Name, m.Kind, m.Target, cur))
		}
		args[i] = strings.Join(lines, "\n")
	}
	return fmt.Sprint(args...)
}

func TestStripIndex(t *testing.T) {
	for in, want := range map[string]string{
		"s0-kafka-g-t": "kafka-g-t", "s12-redis-jobs": "redis-jobs", "sx-y": "sx-y", "s-y": "s-y", "kafka": "kafka", "s0": "s0",
	} {
		if got := StripIndex(in); got != want {
			t.Errorf("StripIndex(%q) = %q, want %q", in, got, want)
		}
	}
}
