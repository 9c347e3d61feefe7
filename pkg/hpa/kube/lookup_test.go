package kube

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/pkg/hpa"
)

// cluster is a fake API server holding HPAs, ScaledObjects and the scale of
// Deployment "worker".
type cluster struct {
	kc    *kubefake.Clientset
	dc    *dynamicfake.FakeDynamicClient
	clock *testclock.Clock
	l     *Lookup
}

func scaledObject(ns, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"namespace": ns, "name": name},
		"spec":     spec,
	}}
}

func newCluster(t *testing.T, hpas []*autoscalingv2.HorizontalPodAutoscaler, sos ...*unstructured.Unstructured) *cluster {
	t.Helper()
	var objs []runtime.Object
	for _, h := range hpas {
		objs = append(objs, h)
	}
	kc := kubefake.NewClientset(objs...)
	var dobjs []runtime.Object
	for _, so := range sos {
		dobjs = append(dobjs, so)
	}
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{ScaledObjectResource: "ScaledObjectList"}, dobjs...)
	// The tracker has no subresources: answer GET deployments/scale with an
	// autoscaling/v1 Scale, as the API server does.
	dc.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		name := a.(k8stesting.GetAction).GetName()
		if name != "worker" {
			return true, nil, apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, name)
		}
		return true, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "autoscaling/v1", "kind": "Scale",
			"metadata": map[string]any{"namespace": a.GetNamespace(), "name": name},
			"spec":     map[string]any{"replicas": int64(3)},
			"status":   map[string]any{"replicas": int64(2), "selector": "app=worker"},
		}}, nil
	})
	mapper := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	c := testclock.New(t0)
	return &cluster{kc: kc, dc: dc, clock: c,
		l: NewLookup(kc, dc, mapper, Options{Now: c.Now, CacheTTL: 15 * time.Second})}
}

// calls counts the API requests made so far, by resource.
func (c *cluster) calls() map[string]int {
	n := map[string]int{}
	for _, a := range c.kc.Actions() {
		n[a.GetResource().Resource]++
	}
	for _, a := range c.dc.Actions() {
		r := a.GetResource().Resource
		if a.GetSubresource() != "" {
			r += "/" + a.GetSubresource()
		}
		n[r]++
	}
	return n
}

func kedaHPA(name string) *autoscalingv2.HorizontalPodAutoscaler {
	h := newHPA("team", name, ptr[int32](1), 10, external("s0-queue-jobs", autoscalingv2.AverageValueMetricType, "1"))
	h.Status.CurrentReplicas = 3
	return h
}

func TestLookupReadsKedaHPA(t *testing.T) {
	c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{kedaHPA("keda-hpa-orders")},
		scaledObject("team", "orders", map[string]any{"cooldownPeriod": int64(60), "pollingInterval": int64(15),
			"minReplicaCount": int64(0), "maxReplicaCount": int64(10)}))
	s, err := c.l.Get(context.Background(), Ref{Namespace: "team", ScaledObject: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	if s.HPAName != "keda-hpa-orders" || s.HPA != (hpa.HPA{MinReplicas: 1, MaxReplicas: 10}) {
		t.Errorf("HPA %s = %+v", s.HPAName, s.HPA)
	}
	// Ready is the HPA's currentReplicas (3) capped at the pods that exist (2).
	if s.Current != (hpa.Current{Spec: 3, Status: 2, Ready: 2}) {
		t.Errorf("Current = %+v", s.Current)
	}
	if len(s.Metrics) != 1 || s.Metrics[0].Name != "s0-queue-jobs" || s.Metrics[0].Target.Milli != 1000 {
		t.Errorf("Metrics = %s", sprint(s.Metrics))
	}
	if s.Target.Kind != "Deployment" || s.Target.Name != "worker" || !s.Read.Equal(t0) {
		t.Errorf("Target %+v, Read %s", s.Target, s.Read)
	}
	so := s.ScaledObject
	if so == nil || so.CooldownPeriod != time.Minute || so.PollingInterval != 15*time.Second ||
		so.Min == nil || *so.Min != 0 || so.Max == nil || *so.Max != 10 || so.HPAName != "" || so.ScaleUpTolerance != nil {
		t.Errorf("ScaledObject = %+v", so)
	}
	want := map[string]int{"scaledobjects": 1, "horizontalpodautoscalers": 1, "deployments/scale": 1}
	if got := c.calls(); !equalCounts(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestLookupHPAName(t *testing.T) {
	hpas := []*autoscalingv2.HorizontalPodAutoscaler{kedaHPA("keda-hpa-orders"), kedaHPA("custom"), kedaHPA("pinned")}
	override := scaledObject("team", "orders", map[string]any{"advanced": map[string]any{"horizontalPodAutoscalerConfig": map[string]any{
		"name": "custom", "behavior": map[string]any{"scaleUp": map[string]any{"tolerance": "0"}}}}})
	cases := []struct {
		name   string
		sos    []*unstructured.Unstructured
		ref    Ref
		want   string
		hasSO  bool
		wantSO *ScaledObjectInfo
	}{
		{name: "the ScaledObject's name override", sos: []*unstructured.Unstructured{override},
			ref: Ref{Namespace: "team", ScaledObject: "orders"}, want: "custom", hasSO: true},
		{name: "Ref.HPAName beats the ScaledObject", sos: []*unstructured.Unstructured{override},
			ref: Ref{Namespace: "team", ScaledObject: "orders", HPAName: "pinned"}, want: "pinned", hasSO: true},
		{name: "missing ScaledObject: default name, nil info",
			ref: Ref{Namespace: "team", ScaledObject: "orders"}, want: "keda-hpa-orders"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, hpas, tc.sos...)
			s, err := c.l.Get(context.Background(), tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if s.HPAName != tc.want || (s.ScaledObject != nil) != tc.hasSO {
				t.Fatalf("HPAName %q, ScaledObject %+v; want %q, present %v", s.HPAName, s.ScaledObject, tc.want, tc.hasSO)
			}
			if so := s.ScaledObject; so != nil {
				if so.HPAName != "custom" || so.ScaleUpTolerance == nil || *so.ScaleUpTolerance != 0 ||
					so.CooldownPeriod != DefaultCooldownPeriod || so.PollingInterval != DefaultPollingInterval || so.Min != nil {
					t.Errorf("ScaledObject = %+v", so)
				}
			}
		})
	}
}

func TestLookupCachesForTTL(t *testing.T) {
	c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{kedaHPA("keda-hpa-orders")})
	ref := Ref{Namespace: "team", ScaledObject: "orders"}
	get := func() Snapshot {
		t.Helper()
		s, err := c.l.Get(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := get()
	c.clock.Add(14 * time.Second)
	if s := get(); !s.Read.Equal(first.Read) || c.calls()["horizontalpodautoscalers"] != 1 {
		t.Fatalf("within the TTL: Read %s, calls %v", s.Read, c.calls())
	}
	c.clock.Add(time.Second)
	if s := get(); !s.Read.Equal(t0.Add(15*time.Second)) || c.calls()["horizontalpodautoscalers"] != 2 {
		t.Fatalf("at the TTL: Read %s, calls %v", s.Read, c.calls())
	}
	// A different ref is a different entry.
	if _, err := c.l.Get(context.Background(), Ref{Namespace: "team", ScaledObject: "orders", HPAName: "keda-hpa-orders"}); err != nil {
		t.Fatal(err)
	}
	if n := c.calls()["horizontalpodautoscalers"]; n != 3 {
		t.Errorf("calls after another ref = %d, want 3", n)
	}
}

func TestLookupConcurrentGetsShareOneFetch(t *testing.T) {
	c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{kedaHPA("keda-hpa-orders")})
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	c.kc.PrependReactor("get", "horizontalpodautoscalers", func(k8stesting.Action) (bool, runtime.Object, error) {
		started <- struct{}{}
		<-release
		return false, nil, nil // fall through to the tracker
	})
	ref := Ref{Namespace: "team", ScaledObject: "orders"}
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := c.l.Get(context.Background(), ref)
			errs <- err
		})
	}
	<-started
	// A caller that gives up does not cancel the fetch the others wait on.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.l.Get(ctx, ref); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "team/orders") {
		t.Errorf("cancelled Get: %v", err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	// Each Get either joined the flight or found the cache it filled.
	if n := c.calls()["horizontalpodautoscalers"]; n != 1 {
		t.Errorf("HPA gets = %d, want 1", n)
	}
}

func TestLookupErrors(t *testing.T) {
	t.Run("missing HPA names namespace/name, stays NotFound, is cached", func(t *testing.T) {
		c := newCluster(t, nil)
		ref := Ref{Namespace: "team", ScaledObject: "orders"}
		_, err := c.l.Get(context.Background(), ref)
		if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "team/keda-hpa-orders") {
			t.Fatalf("Get() = %v; want a NotFound naming team/keda-hpa-orders", err)
		}
		var status *apierrors.StatusError
		if !errors.As(err, &status) {
			t.Errorf("errors.As(*StatusError) fails on %v", err)
		}
		if _, err2 := c.l.Get(context.Background(), ref); err2 == nil || c.calls()["horizontalpodautoscalers"] != 1 {
			t.Errorf("second Get: %v, calls %v", err2, c.calls())
		}
	})
	t.Run("forbidden ScaledObjects: nil info, remembered", func(t *testing.T) {
		c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{kedaHPA("keda-hpa-orders")})
		c.dc.PrependReactor("get", "scaledobjects", func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(ScaledObjectResource.GroupResource(), "orders", errors.New("rbac"))
		})
		ref := Ref{Namespace: "team", ScaledObject: "orders"}
		for range 3 {
			s, err := c.l.Get(context.Background(), ref)
			if err != nil || s.ScaledObject != nil || s.HPAName != "keda-hpa-orders" {
				t.Fatalf("Get() = %+v, %v", s, err)
			}
			c.clock.Add(time.Minute)
		}
		if got := c.calls(); got["scaledobjects"] != 1 || got["horizontalpodautoscalers"] != 3 {
			t.Errorf("calls = %v: a denied read is not retried every TTL", got)
		}
		c.clock.Add(forbiddenRetry)
		if _, err := c.l.Get(context.Background(), ref); err != nil || c.calls()["scaledobjects"] != 2 {
			t.Errorf("after the retry delay: %v, calls %v", err, c.calls())
		}
	})
	t.Run("other ScaledObject errors fail the snapshot", func(t *testing.T) {
		c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{kedaHPA("keda-hpa-orders")})
		c.dc.PrependReactor("get", "scaledobjects", func(a k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewServiceUnavailable("etcd")
		})
		_, err := c.l.Get(context.Background(), Ref{Namespace: "team", ScaledObject: "orders"})
		if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), "ScaledObject team/orders") {
			t.Errorf("Get() = %v", err)
		}
	})
	t.Run("a malformed ScaledObject names the field", func(t *testing.T) {
		c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{kedaHPA("keda-hpa-orders")},
			scaledObject("team", "orders", map[string]any{"cooldownPeriod": "soon"}))
		_, err := c.l.Get(context.Background(), Ref{Namespace: "team", ScaledObject: "orders"})
		if err == nil || !strings.Contains(err.Error(), "ScaledObject team/orders: spec.cooldownPeriod") {
			t.Errorf("Get() = %v", err)
		}
	})
	t.Run("unmapped scale target", func(t *testing.T) {
		h := kedaHPA("keda-hpa-orders")
		h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "w"}
		c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{h})
		_, err := c.l.Get(context.Background(), Ref{Namespace: "team", ScaledObject: "orders"})
		if !meta.IsNoMatchError(err) || !strings.Contains(err.Error(), "scale of Widget team/w") {
			t.Errorf("Get() = %v", err)
		}
	})
	t.Run("missing scale target stays NotFound", func(t *testing.T) {
		h := kedaHPA("keda-hpa-orders")
		h.Spec.ScaleTargetRef.Name = "gone"
		c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{h})
		_, err := c.l.Get(context.Background(), Ref{Namespace: "team", ScaledObject: "orders"})
		if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "scale of Deployment team/gone") {
			t.Errorf("Get() = %v", err)
		}
	})
	t.Run("an invalid HPA", func(t *testing.T) {
		h := kedaHPA("keda-hpa-orders")
		h.Spec.MaxReplicas = 0
		c := newCluster(t, []*autoscalingv2.HorizontalPodAutoscaler{h})
		_, err := c.l.Get(context.Background(), Ref{Namespace: "team", ScaledObject: "orders"})
		if err == nil || !strings.Contains(err.Error(), "hpa team/keda-hpa-orders: spec.maxReplicas") {
			t.Errorf("Get() = %v", err)
		}
	})
	t.Run("an empty ref", func(t *testing.T) {
		c := newCluster(t, nil)
		if _, err := c.l.Get(context.Background(), Ref{Namespace: "team"}); err == nil || len(c.calls()) != 0 {
			t.Errorf("Get() = %v, calls %v", err, c.calls())
		}
	})
}
