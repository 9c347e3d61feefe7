package nodehints

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/pkg/scale"
)

var bufferGVR = schema.GroupVersionResource{Group: "autoscaling.x-k8s.io", Version: "v1beta1", Resource: "capacitybuffers"}

// mapper is what discovery would say: apps always, CapacityBuffer when the
// CRD is installed.
func mapper(withCRD bool) *meta.DefaultRESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}, CapacityBufferGVK.GroupVersion()})
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "StatefulSet"}, meta.RESTScopeNamespace)
	if withCRD {
		m.Add(CapacityBufferGVK, meta.RESTScopeNamespace)
	}
	return m
}

// resettable is a discovery mapper whose Reset sees the CRD installed
// after startup.
type resettable struct {
	meta.RESTMapper
	mu     sync.Mutex
	cur    meta.RESTMapper
	resets int
}

func (r *resettable) RESTMapping(gk schema.GroupKind, v ...string) (*meta.RESTMapping, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur.RESTMapping(gk, v...)
}

func (r *resettable) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resets++
	r.cur = mapper(true)
}

type wrig struct {
	w     *Writer
	kc    *kubefake.Clientset
	dc    *dynamicfake.FakeDynamicClient
	clock *testclock.Clock
}

func newWriterRig(t *testing.T, m meta.RESTMapper, objs ...runtime.Object) *wrig {
	t.Helper()
	kc := kubefake.NewClientset(objs...)
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{bufferGVR: "CapacityBufferList"})
	c := testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	return &wrig{w: NewWriter(kc, dc, m, Options{Now: c.Now}), kc: kc, dc: dc, clock: c}
}

func q(s string) resource.Quantity { return resource.MustParse(s) }

// worker is the target: an app container, a sidecar and a migration init
// container, on GPU nodes.
func worker(appMemory string) *appsv1.Deployment {
	always := corev1.ContainerRestartPolicyAlways
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "orders"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "app", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{"cpu": q("500m"), "memory": q(appMemory)},
				Limits:   corev1.ResourceList{"nvidia.com/gpu": q("1")},
			}}},
			InitContainers: []corev1.Container{
				{Name: "proxy", RestartPolicy: &always, Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{"cpu": q("100m"), "memory": q("64Mi")}}},
				{Name: "migrate", Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{"cpu": q("2"), "memory": q("256Mi")}}},
			},
			NodeSelector: map[string]string{"pool": "gpu"},
			Tolerations:  []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists}},
		}}},
	}
}

var orders = scale.Target{Namespace: "team", Name: "orders"}

func (r *wrig) buffer(t *testing.T) *unstructured.Unstructured {
	t.Helper()
	u, err := r.dc.Resource(bufferGVR).Namespace("team").Get(context.Background(), "orders-tide-buffer", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (r *wrig) balloon(t *testing.T) *appsv1.Deployment {
	t.Helper()
	d, err := r.kc.AppsV1().Deployments("team").Get(context.Background(), "orders-tide-balloon", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (r *wrig) sync(t *testing.T, tg scale.Target, headroom int32, want Mode) {
	t.Helper()
	got, err := r.w.Sync(context.Background(), tg, headroom)
	if err != nil || got != want {
		t.Fatalf("Sync(%d) = %s, %v; want %s", headroom, got, err, want)
	}
}

// countWrites counts create, update, patch and delete requests.
func countWrites(verbs []string) int {
	n := 0
	for _, v := range verbs {
		if v == "create" || v == "update" || v == "delete" || v == "patch" {
			n++
		}
	}
	return n
}

func (r *wrig) writes() int {
	var verbs []string
	for _, a := range r.kc.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	for _, a := range r.dc.Actions() {
		verbs = append(verbs, a.GetVerb())
	}
	return countWrites(verbs)
}

func TestBufferLifecycle(t *testing.T) {
	r := newWriterRig(t, mapper(true), worker("1Gi"))
	if m, err := r.w.Mode(); m != ModeCapacityBuffer || err != nil {
		t.Fatalf("Mode = %s, %v", m, err)
	}
	r.sync(t, orders, 3, ModeCapacityBuffer)
	b := r.buffer(t)
	if b == nil {
		t.Fatal("no CapacityBuffer")
	}
	if b.GetAPIVersion() != "autoscaling.x-k8s.io/v1beta1" || b.GetKind() != "CapacityBuffer" ||
		b.GetLabels()[LabelManagedBy] != "tide" || b.GetLabels()[LabelTarget] != "orders" {
		t.Errorf("CapacityBuffer %s %s, labels %v", b.GetAPIVersion(), b.GetKind(), b.GetLabels())
	}
	ref, _, _ := unstructured.NestedStringMap(b.Object, "spec", "scalableRef")
	n, _, _ := unstructured.NestedInt64(b.Object, "spec", "replicas")
	if ref["apiGroup"] != "apps" || ref["kind"] != "Deployment" || ref["name"] != "orders" || n != 3 {
		t.Errorf("spec: scalableRef %v, replicas %d", ref, n)
	}
	if r.balloon(t) != nil {
		t.Error("a balloon was created next to the CapacityBuffer")
	}
	if pcs, _ := r.kc.SchedulingV1().PriorityClasses().List(context.Background(), metav1.ListOptions{}); len(pcs.Items) != 0 {
		t.Error("PriorityClass created in CapacityBuffer mode")
	}

	w := r.writes()
	r.sync(t, orders, 3, ModeCapacityBuffer)
	if r.writes() != w {
		t.Error("unchanged headroom wrote")
	}

	// The CRD defaults provisioningStrategy (kept); a stray percentage
	// would change the headroom (dropped).
	b = r.buffer(t)
	_ = unstructured.SetNestedField(b.Object, "buffer.x-k8s.io/active-capacity", "spec", "provisioningStrategy")
	_ = unstructured.SetNestedField(b.Object, int64(50), "spec", "percentage")
	if _, err := r.dc.Resource(bufferGVR).Namespace("team").Update(context.Background(), b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.sync(t, orders, 5, ModeCapacityBuffer)
	b = r.buffer(t)
	n, _, _ = unstructured.NestedInt64(b.Object, "spec", "replicas")
	ps, _, _ := unstructured.NestedString(b.Object, "spec", "provisioningStrategy")
	_, hasPct, _ := unstructured.NestedFieldNoCopy(b.Object, "spec", "percentage")
	if n != 5 || ps != "buffer.x-k8s.io/active-capacity" || hasPct {
		t.Errorf("after update: replicas %d, strategy %q, percentage kept %v", n, ps, hasPct)
	}

	r.sync(t, orders, 0, ModeCapacityBuffer)
	if r.buffer(t) != nil {
		t.Error("headroom 0 left the CapacityBuffer")
	}
	r.sync(t, orders, 0, ModeCapacityBuffer) // nothing to delete
	r.sync(t, orders, 2, ModeCapacityBuffer)
	if err := r.w.Delete(context.Background(), orders); err != nil || r.buffer(t) != nil {
		t.Errorf("Delete = %v, buffer left: %v", err, r.buffer(t) != nil)
	}
	if err := r.w.Delete(context.Background(), orders); err != nil {
		t.Errorf("second Delete = %v", err)
	}
}

func TestBufferAnyScalableKind(t *testing.T) {
	r := newWriterRig(t, mapper(true))
	rollout := scale.Target{Namespace: "team", Name: "orders", APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout"}
	r.sync(t, rollout, 1, ModeCapacityBuffer)
	ref, _, _ := unstructured.NestedStringMap(r.buffer(t).Object, "spec", "scalableRef")
	if ref["apiGroup"] != "argoproj.io" || ref["kind"] != "Rollout" {
		t.Errorf("scalableRef %v", ref)
	}
	// Without the CRD a Rollout has no template tide reads.
	r2 := newWriterRig(t, mapper(false))
	if _, err := r2.w.Sync(context.Background(), rollout, 1); err == nil || !strings.Contains(err.Error(), "CapacityBuffer CRD") {
		t.Errorf("balloon for a Rollout: %v", err)
	}
}
