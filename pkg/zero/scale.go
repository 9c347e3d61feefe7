package zero

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Ref names a scale target the way an HPA's scaleTargetRef does.
type Ref struct {
	Namespace  string
	APIVersion string // e.g. "apps/v1"
	Kind       string // e.g. "Deployment"
	Name       string
}

// String is "Kind namespace/name", the name logs and errors use.
func (r Ref) String() string { return r.Kind + " " + r.Namespace + "/" + r.Name }

// Scale is what the controller reads from and writes to a target's scale
// subresource.
type Scale struct {
	// Replicas is spec.replicas.
	Replicas int32
	// UID is the target's UID, so that the Event names this object and
	// not a later one of the same name (kubectl describe matches on it).
	UID types.UID
	// ResourceVersion makes a write conditional on nothing having changed
	// since the read: if the HPA (or a user) scaled in between, the write
	// fails with Conflict instead of undoing theirs.
	ResourceVersion string
}

// ScaleClient reads and writes the scale subresource of a target.
type ScaleClient interface {
	GetScale(ctx context.Context, ref Ref) (Scale, error)
	// UpdateScale sets spec.replicas to s.Replicas, conditional on
	// s.ResourceVersion when it is set.
	UpdateScale(ctx context.Context, ref Ref, s Scale) error
}

// DynamicScales is a ScaleClient over the dynamic client, resolving the
// resource of a kind with a RESTMapper as the HPA controller does, so any
// kind with a scale subresource works (Deployments, StatefulSets, Argo
// Rollouts, ...).
type DynamicScales struct {
	dc     dynamic.Interface
	mapper meta.RESTMapper
}

// NewDynamicScales returns a ScaleClient over dc and mapper.
func NewDynamicScales(dc dynamic.Interface, mapper meta.RESTMapper) *DynamicScales {
	return &DynamicScales{dc: dc, mapper: mapper}
}

func (d *DynamicScales) resource(ref Ref) (schema.GroupVersionResource, error) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("scale of %s: apiVersion %q: %w", ref, ref.APIVersion, err)
	}
	m, err := d.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, gv.Version)
	if err != nil {
		return schema.GroupVersionResource{}, fmt.Errorf("scale of %s: %w", ref, err)
	}
	return m.Resource, nil
}

// GetScale reads the target's autoscaling/v1 Scale.
func (d *DynamicScales) GetScale(ctx context.Context, ref Ref) (Scale, error) {
	gvr, err := d.resource(ref)
	if err != nil {
		return Scale{}, err
	}
	u, err := d.dc.Resource(gvr).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}, "scale")
	if err != nil {
		return Scale{}, fmt.Errorf("get scale of %s: %w", ref, err)
	}
	// spec.replicas is omitempty in autoscaling/v1: absent is 0.
	n, _, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if err != nil {
		return Scale{}, fmt.Errorf("scale of %s: %w", ref, err)
	}
	return Scale{Replicas: int32(n), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion()}, nil
}

// UpdateScale writes spec.replicas through the scale subresource, the only
// write the controller makes to a target; it needs update on <resource>/scale
// and nothing on the target itself.
func (d *DynamicScales) UpdateScale(ctx context.Context, ref Ref, s Scale) error {
	gvr, err := d.resource(ref)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling/v1", "kind": "Scale",
		"metadata": map[string]any{"namespace": ref.Namespace, "name": ref.Name},
		"spec":     map[string]any{"replicas": int64(s.Replicas)},
	}}
	if s.ResourceVersion != "" {
		u.SetResourceVersion(s.ResourceVersion)
	}
	if _, err := d.dc.Resource(gvr).Namespace(ref.Namespace).Update(ctx, u, metav1.UpdateOptions{}, "scale"); err != nil {
		return fmt.Errorf("update scale of %s to %d: %w", ref, s.Replicas, err)
	}
	return nil
}
