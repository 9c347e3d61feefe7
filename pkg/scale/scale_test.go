package scale

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

// server is a fake API server's scale subresource for Deployments: the
// dynamic fake's tracker has no subresources, so reactors answer GET and
// PUT deployments/scale, with resourceVersion conflicts as the server does.
type server struct {
	mu       sync.Mutex
	replicas map[string]int32
	rv       map[string]int
}

func newServer(replicas map[string]int32) (*server, *dynamicfake.FakeDynamicClient) {
	s := &server{replicas: replicas, rv: map[string]int{}}
	dc := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	dc.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		name := a.(k8stesting.GetAction).GetName()
		s.mu.Lock()
		defer s.mu.Unlock()
		n, ok := s.replicas[name]
		if !ok {
			return true, nil, apierrors.NewNotFound(gr, name)
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "autoscaling/v1", "kind": "Scale",
			"spec": map[string]any{"replicas": int64(n)}, "status": map[string]any{"replicas": int64(n) + 1},
		}}
		u.SetNamespace(a.GetNamespace())
		u.SetName(name)
		u.SetUID(types.UID("uid-" + name))
		u.SetResourceVersion(strconv.Itoa(s.rv[name]))
		return true, u, nil
	})
	dc.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		u := a.(k8stesting.UpdateAction).GetObject().(*unstructured.Unstructured)
		n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		s.mu.Lock()
		defer s.mu.Unlock()
		name := u.GetName()
		if rv := u.GetResourceVersion(); rv != "" && rv != strconv.Itoa(s.rv[name]) {
			return true, nil, apierrors.NewConflict(gr, name, errors.New("the object has been modified"))
		}
		s.replicas[name] = int32(n)
		s.rv[name]++
		return true, u, nil
	})
	return s, dc
}

func mapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	return m
}

var orders = Target{Namespace: "team", APIVersion: "apps/v1", Kind: "Deployment", Name: "orders"}

func TestTargetNames(t *testing.T) {
	for _, tc := range []struct {
		t     Target
		group string
	}{
		{orders, "apps"},
		{Target{APIVersion: "v1", Kind: "ReplicationController"}, ""},
		{Target{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout"}, "argoproj.io"},
		{Target{Kind: "Deployment"}, ""},
	} {
		if g := tc.t.Group(); g != tc.group || tc.t.GroupKind() != (schema.GroupKind{Group: tc.group, Kind: tc.t.Kind}) {
			t.Errorf("%+v: Group %q, GroupKind %v; want group %q", tc.t, g, tc.t.GroupKind(), tc.group)
		}
	}
	if s := orders.String(); s != "Deployment team/orders" {
		t.Errorf("String = %q", s)
	}
}

func TestDynamicReadsAndWritesTheScaleSubresource(t *testing.T) {
	srv, dc := newServer(map[string]int32{"orders": 2})
	c := NewDynamic(dc, mapper())
	ctx := context.Background()
	s, err := c.GetScale(ctx, orders)
	if err != nil {
		t.Fatal(err)
	}
	if s != (Scale{Replicas: 2, StatusReplicas: 3, UID: "uid-orders", ResourceVersion: "0"}) {
		t.Errorf("GetScale = %+v", s)
	}
	if err := c.UpdateScale(ctx, orders, Scale{Replicas: 5, ResourceVersion: s.ResourceVersion}); err != nil {
		t.Fatal(err)
	}
	if srv.replicas["orders"] != 5 {
		t.Errorf("replicas %d after the write, want 5", srv.replicas["orders"])
	}
	for _, a := range dc.Actions() {
		if a.GetSubresource() != "scale" || a.GetResource().Resource != "deployments" {
			t.Errorf("request to %s/%s: only the scale subresource may be touched", a.GetResource().Resource, a.GetSubresource())
		}
	}
	// The write is conditional on the version read: a stale one conflicts.
	err = c.UpdateScale(ctx, orders, Scale{Replicas: 0, ResourceVersion: s.ResourceVersion})
	if !apierrors.IsConflict(err) || srv.replicas["orders"] != 5 || !strings.Contains(err.Error(), "Deployment team/orders") {
		t.Errorf("stale write: %v, replicas %d; want a Conflict naming the target and 5 kept", err, srv.replicas["orders"])
	}
}

func TestDynamicErrorsNameTheTarget(t *testing.T) {
	_, dc := newServer(map[string]int32{})
	c := NewDynamic(dc, mapper())
	ctx := context.Background()
	_, err := c.GetScale(ctx, Target{Namespace: "team", APIVersion: "apps/v1", Kind: "Deployment", Name: "gone"})
	if !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), "scale of Deployment team/gone") {
		t.Errorf("missing target: %v", err)
	}
	_, err = c.GetScale(ctx, Target{Namespace: "team", APIVersion: "example.com/v1", Kind: "Widget", Name: "w"})
	if !meta.IsNoMatchError(err) || !strings.Contains(err.Error(), "scale of Widget team/w") {
		t.Errorf("unknown kind: %v", err)
	}
	err = c.UpdateScale(ctx, Target{Namespace: "team", APIVersion: "a/b/c", Kind: "Deployment", Name: "x"}, Scale{})
	if err == nil || !strings.Contains(err.Error(), `apiVersion "a/b/c"`) {
		t.Errorf("bad apiVersion: %v", err)
	}
	if n := len(dc.Actions()); n != 1 {
		t.Errorf("%d requests; an unresolvable target must cost none", n)
	}
}
