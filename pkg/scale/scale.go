package scale

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Target names a workload the way an HPA's scaleTargetRef does, plus its
// namespace.
type Target struct {
	Namespace  string
	APIVersion string // e.g. "apps/v1"; "v1" is the core group
	Kind       string // e.g. "Deployment"
	Name       string
}

// String is "Kind namespace/name", the name logs and errors use.
func (t Target) String() string { return t.Kind + " " + t.Namespace + "/" + t.Name }

// Group is the API group of APIVersion: "apps" for "apps/v1", "" for the
// core group ("v1").
func (t Target) Group() string {
	if g, _, ok := strings.Cut(t.APIVersion, "/"); ok {
		return g
	}
	return ""
}

// GroupKind is the target's group and kind, what a RESTMapper resolves.
func (t Target) GroupKind() schema.GroupKind { return schema.GroupKind{Group: t.Group(), Kind: t.Kind} }

// Scale is what is read from and written to a target's scale subresource.
type Scale struct {
	// Replicas is spec.replicas, the count asked for.
	Replicas int32
	// StatusReplicas is status.replicas, the pods that exist; read only.
	StatusReplicas int32
	// UID is the target's UID, so that an Event names this object and not
	// a later one of the same name.
	UID types.UID
	// ResourceVersion makes a write conditional on nothing having changed
	// since the read: if the HPA (or a user) scaled in between, the write
	// fails with Conflict instead of undoing theirs.
	ResourceVersion string
}

// Client reads and writes the scale subresource of a target.
type Client interface {
	GetScale(ctx context.Context, t Target) (Scale, error)
	// UpdateScale sets spec.replicas to s.Replicas, conditional on
	// s.ResourceVersion when it is set.
	UpdateScale(ctx context.Context, t Target, s Scale) error
}

// Dynamic is a Client over the dynamic client, so any kind with a scale
// subresource works (Deployments, StatefulSets, Argo Rollouts, ...).
type Dynamic struct {
	dc     dynamic.Interface
	mapper meta.RESTMapper
}

var _ Client = (*Dynamic)(nil)

// NewDynamic returns a Client over dc that resolves kinds with mapper (in a
// cluster, a deferred discovery RESTMapper, so custom kinds resolve too).
func NewDynamic(dc dynamic.Interface, mapper meta.RESTMapper) *Dynamic {
	return &Dynamic{dc: dc, mapper: mapper}
}

func (d *Dynamic) resource(t Target) (dynamic.ResourceInterface, error) {
	gv, err := schema.ParseGroupVersion(t.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("scale of %s: apiVersion %q: %w", t, t.APIVersion, err)
	}
	m, err := d.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: t.Kind}, gv.Version)
	if err != nil {
		return nil, fmt.Errorf("scale of %s: %w", t, err)
	}
	return d.dc.Resource(m.Resource).Namespace(t.Namespace), nil
}

// GetScale reads the target's autoscaling/v1 Scale.
func (d *Dynamic) GetScale(ctx context.Context, t Target) (Scale, error) {
	ri, err := d.resource(t)
	if err != nil {
		return Scale{}, err
	}
	u, err := ri.Get(ctx, t.Name, metav1.GetOptions{}, "scale")
	if err != nil {
		return Scale{}, fmt.Errorf("get scale of %s: %w", t, err)
	}
	// Both fields are omitempty in autoscaling/v1: absent is 0.
	spec, _, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if err != nil {
		return Scale{}, fmt.Errorf("scale of %s: %w", t, err)
	}
	status, _, err := unstructured.NestedInt64(u.Object, "status", "replicas")
	if err != nil {
		return Scale{}, fmt.Errorf("scale of %s: %w", t, err)
	}
	return Scale{Replicas: int32(spec), StatusReplicas: int32(status), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion()}, nil
}

// UpdateScale writes spec.replicas through the scale subresource: it needs
// update on <resource>/scale and nothing on the target itself.
func (d *Dynamic) UpdateScale(ctx context.Context, t Target, s Scale) error {
	ri, err := d.resource(t)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling/v1", "kind": "Scale",
		"metadata": map[string]any{"namespace": t.Namespace, "name": t.Name},
		"spec":     map[string]any{"replicas": int64(s.Replicas)},
	}}
	if s.ResourceVersion != "" {
		u.SetResourceVersion(s.ResourceVersion)
	}
	if _, err := ri.Update(ctx, u, metav1.UpdateOptions{}, "scale"); err != nil {
		return fmt.Errorf("update scale of %s to %d: %w", t, s.Replicas, err)
	}
	return nil
}
