package nodehints

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tide-scaler/tide/pkg/scale"
)

func TestBalloonLifecycle(t *testing.T) {
	r := newWriterRig(t, mapper(false), worker("1Gi"))
	ctx := context.Background()
	r.sync(t, orders, 3, ModeBalloon)
	d := r.balloon(t)
	if d == nil {
		t.Fatal("no balloon Deployment")
	}
	if d.Labels[LabelManagedBy] != "tide" || d.Labels[LabelTarget] != "orders" || *d.Spec.Replicas != 3 {
		t.Errorf("balloon labels %v, replicas %d", d.Labels, *d.Spec.Replicas)
	}
	ps := d.Spec.Template.Spec
	if ps.PriorityClassName != "tide-balloon" || ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds != 0 {
		t.Errorf("priorityClassName %q, terminationGracePeriodSeconds %v", ps.PriorityClassName, ps.TerminationGracePeriodSeconds)
	}
	if len(ps.Containers) != 1 || ps.Containers[0].Image != "registry.k8s.io/pause:3.10" {
		t.Fatalf("containers %+v", ps.Containers)
	}
	// cpu: the migration init container (2) with the sidecar started
	// before it (0.1) beats app + sidecar (0.6). memory: app + sidecar.
	// The GPU is requested from its limit, and limited as it must be.
	res := ps.Containers[0].Resources
	want := corev1.ResourceList{"cpu": q("2100m"), "memory": q("1088Mi"), "nvidia.com/gpu": q("1")}
	if !equalResources(res.Requests, want) || !equalResources(res.Limits, corev1.ResourceList{"nvidia.com/gpu": q("1")}) {
		t.Errorf("requests %v, limits %v; want requests %v and only the GPU limited", res.Requests, res.Limits, want)
	}
	if ps.NodeSelector["pool"] != "gpu" || len(ps.Tolerations) != 1 {
		t.Errorf("placement not copied: nodeSelector %v, tolerations %v", ps.NodeSelector, ps.Tolerations)
	}
	if sel := d.Spec.Selector.MatchLabels; sel[labelBalloon] != "orders" || d.Spec.Template.Labels[labelBalloon] != "orders" {
		t.Errorf("selector %v, pod labels %v", sel, d.Spec.Template.Labels)
	}
	pc, err := r.kc.SchedulingV1().PriorityClasses().Get(ctx, "tide-balloon", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pc.Value != -10 || pc.GlobalDefault || pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptNever {
		t.Errorf("PriorityClass value %d, globalDefault %v, preemption %v", pc.Value, pc.GlobalDefault, pc.PreemptionPolicy)
	}

	w := r.writes()
	r.sync(t, orders, 3, ModeBalloon)
	if r.writes() != w {
		t.Error("unchanged headroom wrote")
	}
	r.sync(t, orders, 4, ModeBalloon)
	if d := r.balloon(t); *d.Spec.Replicas != 4 {
		t.Errorf("replicas %d after update, want 4", *d.Spec.Replicas)
	}

	// The target's template changes: the balloons follow.
	if _, err := r.kc.AppsV1().Deployments("team").Update(ctx, worker("2Gi"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	r.sync(t, orders, 4, ModeBalloon)
	if got := r.balloon(t).Spec.Template.Spec.Containers[0].Resources.Requests["memory"]; got.Cmp(q("2112Mi")) != 0 {
		t.Errorf("memory after the target grew: %s, want 2112Mi", got.String())
	}

	r.sync(t, orders, 0, ModeBalloon)
	if r.balloon(t) != nil {
		t.Error("headroom 0 left the balloon")
	}
	r.sync(t, orders, 1, ModeBalloon)
	if err := r.w.Delete(ctx, orders); err != nil || r.balloon(t) != nil {
		t.Errorf("Delete = %v, balloon left: %v", err, r.balloon(t) != nil)
	}
	// The PriorityClass is shared by all targets: it stays.
	if _, err := r.kc.SchedulingV1().PriorityClasses().Get(ctx, "tide-balloon", metav1.GetOptions{}); err != nil {
		t.Errorf("PriorityClass after Delete: %v", err)
	}
}

func equalResources(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestBalloonStatefulSetTarget(t *testing.T) {
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "orders"},
		Spec:       appsv1.StatefulSetSpec{Template: worker("1Gi").Spec.Template},
	}
	r := newWriterRig(t, mapper(false), sts)
	r.sync(t, scale.Target{Namespace: "team", Name: "orders", APIVersion: "apps/v1", Kind: "StatefulSet"}, 2, ModeBalloon)
	if d := r.balloon(t); d == nil || *d.Spec.Replicas != 2 {
		t.Errorf("balloon for a StatefulSet: %v", d)
	}
}

func TestPriorityClassOfAnotherOwnerIsLeftAlone(t *testing.T) {
	theirs := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "tide-balloon"}, Value: -5}
	r := newWriterRig(t, mapper(false), worker("1Gi"), theirs)
	r.sync(t, orders, 1, ModeBalloon)
	pc, _ := r.kc.SchedulingV1().PriorityClasses().Get(context.Background(), "tide-balloon", metav1.GetOptions{})
	if pc.Value != -5 || pc.Labels[LabelManagedBy] != "" {
		t.Errorf("PriorityClass changed: %+v", pc)
	}
}

func TestPriorityClassIsRecreated(t *testing.T) {
	r := newWriterRig(t, mapper(false), worker("1Gi"))
	ctx := context.Background()
	r.sync(t, orders, 1, ModeBalloon)
	if err := r.kc.SchedulingV1().PriorityClasses().Delete(ctx, "tide-balloon", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(priorityRecheck)
	r.sync(t, orders, 2, ModeBalloon)
	if _, err := r.kc.SchedulingV1().PriorityClasses().Get(ctx, "tide-balloon", metav1.GetOptions{}); err != nil {
		t.Errorf("PriorityClass not recreated: %v", err)
	}
}

func TestForeignObjectsAreLeftAlone(t *testing.T) {
	foreign := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "orders-tide-balloon"}}
	r := newWriterRig(t, mapper(false), worker("1Gi"), foreign)
	ctx := context.Background()
	if _, err := r.w.Sync(ctx, orders, 2); err == nil || !strings.Contains(err.Error(), "not managed by tide") {
		t.Errorf("Sync over a foreign Deployment = %v", err)
	}
	if err := r.w.Delete(ctx, orders); err != nil || r.balloon(t) == nil {
		t.Errorf("Delete = %v; foreign Deployment kept: %v", err, r.balloon(t) != nil)
	}

	rb := newWriterRig(t, mapper(true))
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.x-k8s.io/v1beta1", "kind": "CapacityBuffer",
		"metadata": map[string]any{"namespace": "team", "name": "orders-tide-buffer"},
		"spec":     map[string]any{"replicas": int64(9)},
	}}
	if _, err := rb.dc.Resource(bufferGVR).Namespace("team").Create(ctx, u, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rb.w.Sync(ctx, orders, 0); err == nil || !strings.Contains(err.Error(), "not managed by tide") {
		t.Errorf("Sync over a foreign CapacityBuffer = %v", err)
	}
	if err := rb.w.Delete(ctx, orders); err != nil || rb.buffer(t) == nil {
		t.Errorf("Delete = %v; foreign CapacityBuffer kept: %v", err, rb.buffer(t) != nil)
	}
}

// TestCRDInstalledLater: a writer started without the CRD keeps balloons,
// asks discovery again after RecheckInterval, and then moves the target to
// a CapacityBuffer, deleting its balloon.
func TestCRDInstalledLater(t *testing.T) {
	m := &resettable{RESTMapper: mapper(false), cur: mapper(false)}
	r := newWriterRig(t, m, worker("1Gi"))
	r.sync(t, orders, 3, ModeBalloon)
	r.clock.Add(DefaultRecheckInterval / 2)
	r.sync(t, orders, 3, ModeBalloon)
	if m.resets != 0 {
		t.Fatalf("discovery reset %d times before the recheck interval", m.resets)
	}
	r.clock.Add(DefaultRecheckInterval / 2)
	r.sync(t, orders, 3, ModeCapacityBuffer)
	if m.resets != 1 || r.balloon(t) != nil || r.buffer(t) == nil {
		t.Errorf("resets %d, balloon left %v, buffer made %v", m.resets, r.balloon(t) != nil, r.buffer(t) != nil)
	}
	// Once the API is there, no more rechecks.
	r.clock.Add(time.Hour)
	r.sync(t, orders, 3, ModeCapacityBuffer)
	if m.resets != 1 {
		t.Errorf("resets %d with the API present", m.resets)
	}
}

func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	res := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = q(kv[i+1])
		}
		return l
	}
	cases := []struct {
		name string
		spec corev1.PodSpec
		want corev1.ResourceList
	}{
		{"empty", corev1.PodSpec{}, res()},
		{"containers add up", corev1.PodSpec{Containers: []corev1.Container{
			{Resources: corev1.ResourceRequirements{Requests: res("cpu", "1")}},
			{Resources: corev1.ResourceRequirements{Requests: res("cpu", "250m", "memory", "1Gi")}},
		}}, res("cpu", "1250m", "memory", "1Gi")},
		{"limit without request requests the limit", corev1.PodSpec{Containers: []corev1.Container{
			{Resources: corev1.ResourceRequirements{Requests: res("cpu", "1"), Limits: res("cpu", "2", "memory", "512Mi")}},
		}}, res("cpu", "1", "memory", "512Mi")},
		{"bigger init container wins", corev1.PodSpec{
			Containers:     []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: res("cpu", "1")}}},
			InitContainers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: res("cpu", "3")}}},
		}, res("cpu", "3")},
		{"sidecar after an init container does not add to it", corev1.PodSpec{
			Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: res("cpu", "1")}}},
			InitContainers: []corev1.Container{
				{Resources: corev1.ResourceRequirements{Requests: res("cpu", "3")}},
				{RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: res("cpu", "500m")}},
			},
		}, res("cpu", "3")},
		{"overhead adds", corev1.PodSpec{
			Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: res("memory", "1Gi")}}},
			Overhead:   res("memory", "120Mi"),
		}, res("memory", "1144Mi")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := podRequests(&c.spec); !equalResources(got, c.want) {
				t.Errorf("podRequests = %v, want %v", got, c.want)
			}
		})
	}
}

func TestNamesFitLimits(t *testing.T) {
	long := strings.Repeat("a", 250)
	if v := labelValue(long); len(v) > 63 || labelValue("orders") != "orders" {
		t.Errorf("labelValue = %q", v)
	}
	if n := objectName(long, BalloonSuffix); len(n) > 253 || !strings.HasSuffix(n, BalloonSuffix) {
		t.Errorf("objectName = %q (%d)", n, len(n))
	}
	if objectName(long, BalloonSuffix) == objectName(long+"b", BalloonSuffix) {
		t.Error("different long names collide")
	}
}
