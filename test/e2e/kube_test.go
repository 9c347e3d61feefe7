package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// testNamespace creates a namespace for one test and deletes it after.
func testNamespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	_, err := kube.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// deployment creates a Deployment with 0 replicas and env on its container
// (KEDA resolves ...FromEnv keys from it). Its pods never run: they do not
// tolerate the node's taint (cluster.NodeTaint); the tests read
// .spec.replicas.
func deployment(t *testing.T, ns, name string, env map[string]string) {
	t.Helper()
	zero := int32(0)
	labels := map[string]string{"app": name}
	c := corev1.Container{Name: "worker", Image: "registry.invalid/worker:1"}
	for k, v := range env {
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: v})
	}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}},
		},
	}
	if _, err := kube.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// scaledObjectYAML is a ScaledObject for a Deployment; triggers is YAML
// for spec.triggers. The HPA gets windows of 0 and generous rate policies
// so that it follows the metric within a sync or two.
func scaledObjectYAML(ns, name string, polling, cooldown, maxReplicas int, triggers string) string {
	return fmt.Sprintf(`apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  scaleTargetRef: {name: %[2]s}
  pollingInterval: %[3]d
  cooldownPeriod: %[4]d
  minReplicaCount: 0
  maxReplicaCount: %[5]d
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleUp:
          stabilizationWindowSeconds: 0
          policies: [{type: Pods, value: 100, periodSeconds: 1}]
        scaleDown:
          stabilizationWindowSeconds: 0
          policies: [{type: Percent, value: 100, periodSeconds: 1}]
  triggers:
%[6]s`, ns, name, polling, cooldown, maxReplicas, triggers)
}

func apply(t *testing.T, manifest string) {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
		t.Fatalf("manifest: %v\n%s", err, manifest)
	}
	u := &unstructured.Unstructured{Object: obj}
	_, err := kube.Dynamic.Resource(cluster.ScaledObjects).Namespace(u.GetNamespace()).Create(t.Context(), u, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create %s: %v", u.GetName(), err)
	}
}

// waitHPA waits until KEDA has created the ScaledObject's HPA.
func waitHPA(t *testing.T, ns, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := kube.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(t.Context(), "keda-hpa-"+name, metav1.GetOptions{})
		if err == nil {
			return
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("HPA keda-hpa-%s: %v\n%s", name, err, status(ns, name))
		}
		time.Sleep(100 * time.Millisecond) // polling the API server for an event
	}
}

// replicas reads the Deployment's .spec.replicas.
func replicas(t *testing.T, ns, name string) int32 {
	t.Helper()
	d, err := kube.Client.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// waitReplicas polls .spec.replicas until want holds, failing after
// timeout with the ScaledObject's and HPA's status. Every value seen is
// passed to check, which may fail the test (a bound that must never break).
func waitReplicas(t *testing.T, ns, name, what string, timeout time.Duration, want func(int32) bool, check func(int32)) (int32, time.Duration) {
	t.Helper()
	start := time.Now()
	var seen []int32
	for {
		r := replicas(t, ns, name)
		if len(seen) == 0 || seen[len(seen)-1] != r {
			seen = append(seen, r)
		}
		if check != nil {
			check(r)
		}
		if want(r) {
			return r, time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not reached after %s; replicas went %v\n%s", what, timeout, seen, status(ns, name))
		}
		time.Sleep(100 * time.Millisecond) // polling the API server for an event, not waiting for time
	}
}

// status describes the ScaledObject and its HPA for a failure message.
func status(ns, name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b strings.Builder
	if so, err := kube.Dynamic.Resource(cluster.ScaledObjects).Namespace(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		st, _ := yaml.Marshal(so.Object["status"])
		fmt.Fprintf(&b, "ScaledObject %s/%s status:\n%s", ns, name, st)
	} else {
		fmt.Fprintf(&b, "ScaledObject: %v\n", err)
	}
	h, err := kube.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "keda-hpa-"+name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		b.WriteString("HPA keda-hpa-" + name + ": not created\n")
	case err != nil:
		fmt.Fprintf(&b, "HPA: %v\n", err)
	default:
		fmt.Fprintf(&b, "HPA current %d desired %d\n", h.Status.CurrentReplicas, h.Status.DesiredReplicas)
		for _, c := range h.Status.Conditions {
			fmt.Fprintf(&b, "  %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
		for _, m := range h.Status.CurrentMetrics {
			if m.External != nil {
				fmt.Fprintf(&b, "  metric %s = %s\n", m.External.Metric.Name, m.External.Current.AverageValue)
			}
		}
	}
	fmt.Fprintf(&b, "scaler log tail:\n%s\n", scaler.Proc().Tail(15))
	return b.String()
}
