package nodehints

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tide-scaler/tide/pkg/scale"
)

// Balloon settings.
const (
	DefaultPauseImage = "registry.k8s.io/pause:3.10"
	// PriorityClassName is the balloons' PriorityClass. Its value is
	// PriorityValue, -10: any real pod preempts a balloon, and the pending
	// balloon then makes the autoscaler add a node. Not lower: pods below
	// cluster-autoscaler's --expendable-pods-priority-cutoff (default -10)
	// never trigger a scale-up, and the balloon would hold nothing.
	PriorityClassName = "tide-balloon"
	PriorityValue     = int32(-10)
	// AnnotationTemplateHash records the hash of the balloon pod template
	// the writer wrote, so a change in the target's template is noticed
	// without comparing against API-server defaults.
	AnnotationTemplateHash = "tide.dev/template-hash"
	// labelBalloon selects one target's balloon pods.
	labelBalloon = "tide.dev/balloon"
	// priorityRecheck is how often the PriorityClass's existence is
	// checked again: if someone deletes it, the ReplicaSet can create no
	// balloon pods, so it is put back within this time.
	priorityRecheck = 10 * time.Minute
)

// balloonName is the balloon Deployment the writer owns for t.
func balloonName(t scale.Target) string { return objectName(t.Name, BalloonSuffix) }

func (w *Writer) syncBalloon(ctx context.Context, t scale.Target, headroom int32) error {
	deps := w.kc.AppsV1().Deployments(t.Namespace)
	name := balloonName(t)
	cur, err := deps.Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		cur = nil
	case err != nil:
		return fmt.Errorf("get balloon Deployment %s/%s: %w", t.Namespace, name, err)
	case !owned(cur):
		return notOwned("Deployment", t.Namespace, name)
	}
	if headroom == 0 {
		if cur == nil {
			return nil
		}
		return w.deleteBalloonObject(ctx, t, cur)
	}
	tpl, err := w.podTemplate(ctx, t)
	if err != nil {
		return err
	}
	want, err := w.balloon(t, tpl, headroom)
	if err != nil {
		return err
	}
	if err := w.ensurePriorityClass(ctx); err != nil {
		return err
	}
	if cur == nil {
		if err := live(ctx); err != nil {
			return err
		}
		if _, err := deps.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create balloon Deployment %s/%s: %w", t.Namespace, name, err)
		}
		w.opts.Logger.Info("node hints: created balloon", "target", t.String(), "balloon", name, "replicas", headroom)
		return nil
	}
	hash := want.Annotations[AnnotationTemplateHash]
	if cur.Spec.Replicas != nil && *cur.Spec.Replicas == headroom && cur.Annotations[AnnotationTemplateHash] == hash {
		return nil
	}
	// Keep the read resourceVersion (a concurrent change is a Conflict,
	// retried next Sync) and the immutable selector, which is ours.
	upd := cur.DeepCopy()
	upd.Labels, upd.Annotations = mergeMaps(upd.Labels, want.Labels), mergeMaps(upd.Annotations, want.Annotations)
	upd.Spec = want.Spec
	if err := live(ctx); err != nil {
		return err
	}
	if _, err := deps.Update(ctx, upd, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update balloon Deployment %s/%s: %w", t.Namespace, name, err)
	}
	w.opts.Logger.Info("node hints: updated balloon", "target", t.String(), "balloon", name, "replicas", headroom)
	return nil
}

func mergeMaps(dst, src map[string]string) map[string]string {
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// podTemplate reads the target's pod template, which shapes its balloons.
func (w *Writer) podTemplate(ctx context.Context, t scale.Target) (*corev1.PodTemplateSpec, error) {
	if t.Group() == "apps" {
		switch t.Kind {
		case "Deployment":
			d, err := w.kc.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("get target %s: %w", t, err)
			}
			return &d.Spec.Template, nil
		case "StatefulSet":
			s, err := w.kc.AppsV1().StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
			if err != nil {
				return nil, fmt.Errorf("get target %s: %w", t, err)
			}
			return &s.Spec.Template, nil
		}
	}
	return nil, fmt.Errorf("balloon for %s (group %q): only apps Deployments and StatefulSets have a pod template tide reads; install the CapacityBuffer CRD for other kinds", t, t.Group())
}

// balloon is the Deployment that holds headroom pods shaped like tpl's.
func (w *Writer) balloon(t scale.Target, tpl *corev1.PodTemplateSpec, headroom int32) (*appsv1.Deployment, error) {
	sel := map[string]string{LabelManagedBy: ManagedBy, labelBalloon: labelValue(t.Name)}
	lbl := labels(t)
	yes, no, zero, nobody := true, false, int64(0), int64(65535)
	req, lim := balloonResources(podRequests(&tpl.Spec))
	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: mergeMaps(map[string]string{LabelTarget: lbl[LabelTarget]}, sel)},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "pause", Image: w.opts.PauseImage,
				Resources: corev1.ResourceRequirements{Requests: req, Limits: lim},
				// Passes the "restricted" Pod Security Standard, so
				// balloons run in any namespace the target runs in.
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
			PriorityClassName: PriorityClassName,
			// Preempted balloons must free their node at once: the real
			// pod is waiting for exactly that room.
			TerminationGracePeriodSeconds: &zero,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: &yes, RunAsUser: &nobody, RunAsGroup: &nobody,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			// The same placement as the target's pods, so the room is kept
			// on the nodes they can use (GPU pools, zones, taints).
			NodeSelector: tpl.Spec.NodeSelector,
			Affinity:     tpl.Spec.Affinity.DeepCopy(),
			Tolerations:  tpl.Spec.Tolerations,
		},
	}
	raw, err := json.Marshal(pod)
	if err != nil {
		return nil, fmt.Errorf("balloon for %s: %w", t, err)
	}
	sum := sha256.Sum256(raw)
	history := int32(0)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: t.Namespace, Name: balloonName(t), Labels: lbl,
			Annotations: map[string]string{AnnotationTemplateHash: hex.EncodeToString(sum[:8])},
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: &headroom,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: pod,
			// Replace balloons without a surge: a surge would briefly ask
			// for more room than the headroom.
			Strategy:             appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			RevisionHistoryLimit: &history,
		},
	}, nil
}

// podRequests is what the scheduler reserves for one pod of spec: the sum
// of the containers' and sidecars' requests, or the largest init container
// (with the sidecars started before it) if that is more. A container with a
// limit and no request requests its limit, as the API server defaults
// pods (but not the templates read here).
func podRequests(spec *corev1.PodSpec) corev1.ResourceList {
	total := corev1.ResourceList{}
	for _, c := range spec.Containers {
		addTo(total, containerRequests(c))
	}
	sidecars, initPeak := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range spec.InitContainers {
		r := containerRequests(c)
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			addTo(total, r)
			addTo(sidecars, r)
			maxTo(initPeak, sidecars)
			continue
		}
		step := r.DeepCopy()
		addTo(step, sidecars)
		maxTo(initPeak, step)
	}
	maxTo(total, initPeak)
	addTo(total, spec.Overhead)
	return total
}

func containerRequests(c corev1.Container) corev1.ResourceList {
	r := c.Resources.Requests.DeepCopy()
	if r == nil {
		r = corev1.ResourceList{}
	}
	for name, q := range c.Resources.Limits {
		if _, ok := r[name]; !ok {
			r[name] = q.DeepCopy()
		}
	}
	return r
}

func addTo(dst, src corev1.ResourceList) {
	for name, q := range src {
		cur := dst[name]
		cur.Add(q)
		dst[name] = cur
	}
}

func maxTo(dst, src corev1.ResourceList) {
	for name, q := range src {
		if cur, ok := dst[name]; !ok || q.Cmp(cur) > 0 {
			dst[name] = q.DeepCopy()
		}
	}
}

// balloonResources splits a pod's requests into the pause container's
// requests and limits. Only cpu, memory and ephemeral-storage may be
// requested without an equal limit; extended resources (GPUs) and huge
// pages must have limit = request, and are exactly what balloons in
// accelerator pools must hold.
func balloonResources(req corev1.ResourceList) (corev1.ResourceList, corev1.ResourceList) {
	var lim corev1.ResourceList
	for name, q := range req {
		switch name {
		case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		default:
			if lim == nil {
				lim = corev1.ResourceList{}
			}
			lim[name] = q.DeepCopy()
		}
	}
	return req, lim
}

// ensurePriorityClass creates the balloons' PriorityClass if it is
// missing. One that exists is never changed (its value is immutable, and
// it may be the cluster admin's); a different value or policy is logged.
func (w *Writer) ensurePriorityClass(ctx context.Context) error {
	w.mu.Lock()
	fresh := !w.pcChecked.IsZero() && w.opts.Now().Sub(w.pcChecked) < priorityRecheck
	w.mu.Unlock()
	if fresh {
		return nil
	}
	pcs := w.kc.SchedulingV1().PriorityClasses()
	pc, err := pcs.Get(ctx, PriorityClassName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if err := live(ctx); err != nil {
			return err
		}
		never := corev1.PreemptNever
		_, err = pcs.Create(ctx, &schedulingv1.PriorityClass{
			ObjectMeta:       metav1.ObjectMeta{Name: PriorityClassName, Labels: map[string]string{LabelManagedBy: ManagedBy}},
			Value:            PriorityValue,
			GlobalDefault:    false,
			PreemptionPolicy: &never,
			Description:      "Tide balloon pods: placeholders that keep node headroom; any real pod preempts them.",
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create PriorityClass %s: %w", PriorityClassName, err)
		}
		w.opts.Logger.Info("node hints: created PriorityClass", "name", PriorityClassName, "value", PriorityValue)
	case err != nil:
		return fmt.Errorf("get PriorityClass %s: %w", PriorityClassName, err)
	case pc.Value != PriorityValue || pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptNever:
		w.opts.Logger.Warn("node hints: PriorityClass differs from what balloons need; leaving it",
			"name", PriorityClassName, "value", pc.Value, "want", PriorityValue)
	}
	w.mu.Lock()
	w.pcChecked = w.opts.Now()
	w.mu.Unlock()
	return nil
}

func (w *Writer) deleteBalloon(ctx context.Context, t scale.Target) error {
	cur, err := w.kc.AppsV1().Deployments(t.Namespace).Get(ctx, balloonName(t), metav1.GetOptions{})
	if err != nil {
		return ignoreNotFound(err)
	}
	if !owned(cur) {
		return nil
	}
	return w.deleteBalloonObject(ctx, t, cur)
}

func (w *Writer) deleteBalloonObject(ctx context.Context, t scale.Target, cur *appsv1.Deployment) error {
	if err := live(ctx); err != nil {
		return err
	}
	err := w.kc.AppsV1().Deployments(t.Namespace).Delete(ctx, cur.Name, deleteOpts(string(cur.UID)))
	if err = ignoreNotFound(err); err != nil {
		return fmt.Errorf("delete balloon Deployment %s/%s: %w", t.Namespace, cur.Name, err)
	}
	w.opts.Logger.Info("node hints: deleted balloon", "target", t.String(), "balloon", cur.Name)
	return nil
}
