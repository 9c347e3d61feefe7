package nodehints

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tide-scaler/tide/pkg/scale"
)

// bufferName is the CapacityBuffer the writer owns for t.
func bufferName(t scale.Target) string { return objectName(t.Name, BufferSuffix) }

// bufferSpec is the spec the writer wants: virtual pods shaped like the
// target's, headroom of them. Only provisioningStrategy is kept from an
// existing object (the CRD defaults it); podTemplateRef, percentage and
// limits are dropped, since with them the autoscaler would provision
// something other than the headroom asked for.
func bufferSpec(t scale.Target, headroom int32, old map[string]any) map[string]any {
	spec := map[string]any{
		"scalableRef": map[string]any{"apiGroup": t.Group(), "kind": t.Kind, "name": t.Name},
		"replicas":    int64(headroom),
	}
	if ps, ok, _ := unstructured.NestedString(old, "provisioningStrategy"); ok {
		spec["provisioningStrategy"] = ps
	}
	return spec
}

func (w *Writer) syncBuffer(ctx context.Context, gvr schema.GroupVersionResource, t scale.Target, headroom int32) error {
	ri := w.dc.Resource(gvr).Namespace(t.Namespace)
	name := bufferName(t)
	cur, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		if headroom == 0 {
			return nil
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": CapacityBufferGVK.GroupVersion().String(), "kind": CapacityBufferGVK.Kind,
			"spec": bufferSpec(t, headroom, nil),
		}}
		u.SetNamespace(t.Namespace)
		u.SetName(name)
		u.SetLabels(labels(t))
		if err := live(ctx); err != nil {
			return err
		}
		if _, err := ri.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				w.forceRecheck() // the collection itself is gone: CRD uninstalled
			}
			return fmt.Errorf("create CapacityBuffer %s/%s: %w", t.Namespace, name, err)
		}
		w.opts.Logger.Info("node hints: created CapacityBuffer", "target", t.String(), "buffer", name, "replicas", headroom)
		return nil
	}
	if err != nil {
		return fmt.Errorf("get CapacityBuffer %s/%s: %w", t.Namespace, name, err)
	}
	if !owned(cur) {
		return notOwned("CapacityBuffer", t.Namespace, name)
	}
	if headroom == 0 {
		return w.deleteBufferObject(ctx, gvr, t, cur)
	}
	old, _, _ := unstructured.NestedMap(cur.Object, "spec")
	want := bufferSpec(t, headroom, old)
	lbl := cur.GetLabels()
	if equalSpec(old, want) && lbl[LabelTarget] == labelValue(t.Name) {
		return nil
	}
	cur.Object["spec"] = want
	for k, v := range labels(t) {
		lbl[k] = v
	}
	cur.SetLabels(lbl)
	// cur carries the resourceVersion read: a concurrent change is a
	// Conflict, retried on the next Sync.
	if err := live(ctx); err != nil {
		return err
	}
	if _, err := ri.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update CapacityBuffer %s/%s: %w", t.Namespace, name, err)
	}
	w.opts.Logger.Info("node hints: updated CapacityBuffer", "target", t.String(), "buffer", name, "replicas", headroom)
	return nil
}

// equalSpec compares the fields bufferSpec sets, and that no other field
// (podTemplateRef, percentage, limits) is set.
func equalSpec(old, want map[string]any) bool {
	if len(old) != len(want) {
		return false
	}
	r, _, _ := unstructured.NestedInt64(old, "replicas")
	ref, _, _ := unstructured.NestedStringMap(old, "scalableRef")
	wref, _, _ := unstructured.NestedStringMap(want, "scalableRef")
	ps, _, _ := unstructured.NestedString(old, "provisioningStrategy")
	wps, _, _ := unstructured.NestedString(want, "provisioningStrategy")
	return r == want["replicas"] && ps == wps &&
		ref["apiGroup"] == wref["apiGroup"] && ref["kind"] == wref["kind"] && ref["name"] == wref["name"]
}

func (w *Writer) deleteBuffer(ctx context.Context, gvr schema.GroupVersionResource, t scale.Target) error {
	cur, err := w.dc.Resource(gvr).Namespace(t.Namespace).Get(ctx, bufferName(t), metav1.GetOptions{})
	if err != nil {
		return ignoreNotFound(err)
	}
	if !owned(cur) {
		return nil
	}
	return w.deleteBufferObject(ctx, gvr, t, cur)
}

func (w *Writer) deleteBufferObject(ctx context.Context, gvr schema.GroupVersionResource, t scale.Target, cur *unstructured.Unstructured) error {
	if err := live(ctx); err != nil {
		return err
	}
	err := w.dc.Resource(gvr).Namespace(t.Namespace).Delete(ctx, cur.GetName(), deleteOpts(string(cur.GetUID())))
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete CapacityBuffer %s/%s: %w", t.Namespace, cur.GetName(), err)
	}
	w.opts.Logger.Info("node hints: deleted CapacityBuffer", "target", t.String(), "buffer", cur.GetName())
	return nil
}
