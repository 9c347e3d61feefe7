package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// TestStandalone: a cluster without KEDA. A plain autoscaling/v2 HPA reads
// our external metric; the scaler owns 0 -> 1 and 1 -> 0 under a Lease
// held by one of two replicas; balloon pods keep headroom while the HPA's
// rate limit holds the workload below the predicted demand; killing the
// leader hands over to the other replica without a flap.
func TestStandalone(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cdir, err := os.MkdirTemp("", "tide-e2e-standalone-")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if !t.Failed() {
			os.RemoveAll(cdir)
		} else {
			t.Logf("logs kept in %s", cdir)
		}
	}()
	c, err := cluster.Start(ctx, kube.Bin, cdir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()

	const ns, name, group = "default", "orders", "standalone-workers"
	cl := topic(t, "standalone-orders", group, 6)
	dir := cdir
	config := filepath.Join(dir, "triggers.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`triggers:
- name: orders
  namespace: default
  metricName: orders-lag
  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: orders}
  minReplicas: 0
  maxReplicas: 6
  cooldownPeriod: 5s
  nodeLeadTime: 1m
  metadata:
    source: kafka
    bootstrapServers: %q
    consumerGroup: %q
    topic: standalone-orders
    lagThreshold: "10"
`, strings.Join(kafka.ListenAddrs(), ","), group)), 0o600); err != nil {
		t.Fatal(err)
	}

	// Two replicas; the APIService points at the first one's API.
	var scalers []*cluster.Scaler
	var apiPorts []int
	for _, id := range []string{"replica-a", "replica-b"} {
		port, err := cluster.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		s, err := cluster.NewScaler(scaler.Bin, dir, "--kubeconfig", c.Kubeconfig,
			"--external-metrics-config", config, "--external-metrics-port", strconv.Itoa(port),
			"--external-metrics-bind-address", "127.0.0.1", "--external-metrics-cert-dir", filepath.Join(dir, id),
			"--lease-namespace", ns, "--lease-identity", id, "--standalone-interval", "500ms")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		scalers, apiPorts = append(scalers, s), append(apiPorts, port)
	}
	if err := c.RegisterExternalMetrics(ctx, ns, apiPorts[0]); err != nil {
		t.Fatal(err)
	}

	// The workload, paused at 0, and a plain HPA on our metric. Its
	// scale-up is rate-limited to 1 pod per 3 s, so demand runs ahead of
	// the replica count for a while: the balloon's headroom.
	zero := int32(0)
	labels := map[string]string{"app": name}
	_, err = c.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "worker", Image: "registry.invalid/worker:1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
			}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one, zeroWindow := int32(1), int32(0)
	_, err = c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &one, MaxReplicas: 6,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: "orders-lag", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"trigger": "orders"}}},
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(10, resource.DecimalSI)},
			}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &zeroWindow,
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 1, PeriodSeconds: 3}}},
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &zeroWindow,
					Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: 1}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := func() int32 {
		d, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return *d.Spec.Replicas
	}
	wait := func(what string, timeout time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after %s (replicas %d)\n%s\nreplica-a:\n%s\nreplica-b:\n%s", what, timeout, spec(), hpaStatus(c, ns, name),
					scalers[0].Proc().Tail(15), scalers[1].Proc().Tail(15))
			}
			time.Sleep(100 * time.Millisecond) // polling the API server for an event
		}
	}

	wait("a leader is elected", 60*time.Second, func() bool { return leaseHolder(c, ns) != "" })
	leader := leaseHolder(c, ns)
	t.Logf("leader: %s", leader)

	produce(t, cl, 100) // lag 100 over 6 partitions: 6 replicas (capped)
	wait("0 -> 1 by the scaler", 30*time.Second, func() bool { return spec() >= 1 })
	balloonSeen := int32(0)
	wait("the HPA scales to 6 while the balloon holds headroom", 90*time.Second, func() bool {
		if b, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name+"-tide-balloon", metav1.GetOptions{}); err == nil && b.Spec.Replicas != nil {
			balloonSeen = max(balloonSeen, *b.Spec.Replicas)
		}
		return spec() == 6
	})
	if balloonSeen == 0 {
		t.Errorf("no balloon replicas while the HPA ramped up 1 pod per 3 s towards a demand of 6")
	}
	wait("the balloon goes once the workload has caught up", 60*time.Second, func() bool {
		_, err := c.Client.AppsV1().Deployments(ns).Get(ctx, name+"-tide-balloon", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	pc, err := c.Client.SchedulingV1().PriorityClasses().Get(ctx, "tide-balloon", metav1.GetOptions{})
	if err != nil || pc.Value != -10 {
		t.Errorf("PriorityClass tide-balloon: %v (value %v), want value -10", err, pc)
	}

	// Kill the leader: the other replica takes over; the count holds. The
	// APIService is re-pointed at the survivor, as a Service's endpoints
	// would drop the dead pod.
	survivor := 0
	for i, s := range scalers {
		if leader == []string{"replica-a", "replica-b"}[i] {
			s.Kill()
		} else {
			survivor = i
		}
	}
	if err := c.RegisterExternalMetrics(ctx, ns, apiPorts[survivor]); err != nil {
		t.Fatal(err)
	}
	wait("the other replica takes the Lease", 60*time.Second, func() bool { h := leaseHolder(c, ns); return h != "" && h != leader })
	if r := spec(); r != 6 {
		t.Errorf("replicas %d after the handover, want 6 (no flap)", r)
	}

	commitAll(t, cl, "standalone-orders", group)
	wait("the HPA goes to its minimum, 1", 60*time.Second, func() bool { return spec() == 1 })
	wait("1 -> 0 by the new leader after the cooldown", 60*time.Second, func() bool { return spec() == 0 })

	evs, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int32{}
	for _, e := range evs.Items {
		if e.InvolvedObject.Name == name {
			counts[e.Reason] += max(e.Count, 1)
		}
	}
	if counts["TideScaledFromZero"] != 1 || counts["TideScaledToZero"] != 1 {
		t.Errorf("events %v, want exactly one TideScaledFromZero and one TideScaledToZero (one writer)", counts)
	}
}

func leaseHolder(c *cluster.Cluster, ns string) string {
	l, err := c.Client.CoordinationV1().Leases(ns).Get(context.Background(), "tide-scaler", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func hpaStatus(c *cluster.Cluster, ns, name string) string {
	h, err := c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HPA current %d desired %d\n", h.Status.CurrentReplicas, h.Status.DesiredReplicas)
	for _, cond := range h.Status.Conditions {
		fmt.Fprintf(&b, "  %s=%s %s: %s\n", cond.Type, cond.Status, cond.Reason, cond.Message)
	}
	return b.String()
}
