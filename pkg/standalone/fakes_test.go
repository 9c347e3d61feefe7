package standalone

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
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
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/scale"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// registry is testqueue's fake source (source=fake, queue=<name>,
// target=<float, default 5>, activation=<float, default 0>, plus the shared
// keys), whose metric is "<queue>-depth".
func registry(t *testing.T) *trigger.Registry {
	r, err := trigger.NewRegistry(testqueue.Source(testqueue.MetricName(func(q string) string { return q + "-depth" })))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// open writes yaml and opens it as a workload file over a cache reading r.
func open(t *testing.T, r *testqueue.Reader, yaml string) (*workload.File, *trigger.Cache) {
	t.Helper()
	cache := trigger.NewCache(trigger.CacheConfig{Registry: registry(t), Reader: r})
	t.Cleanup(cache.Close)
	path := filepath.Join(t.TempDir(), "workloads.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := workload.Open(path, cache, workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f, cache
}

// scales is an in-memory scale subresource; beforeGet, when set, runs at
// the start of each GetScale. It ignores contexts, as a client may.
type scales struct {
	mu        sync.Mutex
	replicas  map[string]int32
	writes    []int32
	beforeGet func()
}

func (s *scales) GetScale(_ context.Context, t scale.Target) (scale.Scale, error) {
	if s.beforeGet != nil {
		s.beforeGet()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.replicas[t.Name]
	if !ok {
		return scale.Scale{}, apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, t.Name)
	}
	return scale.Scale{Replicas: n, UID: types.UID("uid-" + t.Name), ResourceVersion: "1"}, nil
}

func (s *scales) UpdateScale(_ context.Context, t scale.Target, sc scale.Scale) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replicas[t.Name] = sc.Replicas
	s.writes = append(s.writes, sc.Replicas)
	return nil
}

func (s *scales) get(name string) int32 { s.mu.Lock(); defer s.mu.Unlock(); return s.replicas[name] }

// recorder keeps the reasons of the Events recorded.
type recorder struct {
	mu      sync.Mutex
	reasons []string
}

func (r *recorder) Event(_ runtime.Object, _, reason, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reasons = append(r.reasons, reason+": "+msg)
}
func (r *recorder) Eventf(runtime.Object, string, string, string, ...any) {}
func (r *recorder) AnnotatedEventf(runtime.Object, map[string]string, string, string, string, ...any) {
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.reasons...)
}

// cluster is a fake API server: typed objects (the target Deployment, for
// its pod template), dynamic objects and the scale subresource of
// Deployments, with a RESTMapper that knows apps and, withCRD, the
// CapacityBuffer API.
type cluster struct {
	kc       *kubefake.Clientset
	dc       *dynamicfake.FakeDynamicClient
	mapper   meta.RESTMapper
	mu       sync.Mutex
	replicas map[string]int32
	rv       int
}

func newCluster(replicas map[string]int32) *cluster {
	var objs []runtime.Object
	for name := range replicas {
		objs = append(objs, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
			Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": resource.MustParse("1")}},
			}}}}}})
	}
	c := &cluster{kc: kubefake.NewClientset(objs...), replicas: replicas,
		dc: dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())}
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	c.mapper = m
	c.dc.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		name := a.(k8stesting.GetAction).GetName()
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "autoscaling/v1", "kind": "Scale",
			"spec": map[string]any{"replicas": int64(c.replicas[name])}}}
		u.SetNamespace(a.GetNamespace())
		u.SetName(name)
		u.SetUID(types.UID("uid-" + name))
		u.SetResourceVersion(strconv.Itoa(c.rv))
		return true, u, nil
	})
	c.dc.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		u := a.(k8stesting.UpdateAction).GetObject().(*unstructured.Unstructured)
		n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		c.mu.Lock()
		defer c.mu.Unlock()
		c.replicas[u.GetName()] = int32(n)
		c.rv++
		return true, u, nil
	})
	return c
}

func (c *cluster) get(name string) int32 { c.mu.Lock(); defer c.mu.Unlock(); return c.replicas[name] }

// writes counts the create, update, patch and delete requests made through
// the typed and dynamic clients, other than Events and Leases.
func writes(kc *kubefake.Clientset, dc *dynamicfake.FakeDynamicClient) int {
	n := 0
	for _, a := range append(kc.Actions(), dc.Actions()...) {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete":
			if r := a.GetResource().Resource; r != "events" && r != "leases" {
				n++
			}
		}
	}
	return n
}

// waitFor polls cond in a bounded loop: Run uses real timers, so tests wait
// for what they expect, never for a fixed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
