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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// standaloneEnv is a cluster without KEDA, a Kafka topic with 6
// partitions, a paused Deployment with a plain HPA on our external metric
// (scale-up limited to 1 pod per 3 s, so demand runs ahead of the count:
// the headroom the node hints keep) and n scaler replicas serving it.
type standaloneEnv struct {
	t        *testing.T
	ctx      context.Context
	c        *cluster.Cluster
	cl       *kgo.Client
	scalers  []*cluster.Scaler
	ids      []string
	apiPorts []int
}

const (
	saNS, saName, saGroup, saTopic = "default", "orders", "standalone-workers", "standalone-orders"
)

func newStandaloneEnv(t *testing.T, ctx context.Context, replicas int, before func(*cluster.Cluster)) *standaloneEnv {
	t.Helper()
	cdir, err := os.MkdirTemp("", "tide-e2e-standalone-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(cdir)
		} else {
			t.Logf("logs kept in %s", cdir)
		}
	})
	c, err := cluster.Start(ctx, kube.Bin, cdir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if before != nil {
		before(c)
	}
	e := &standaloneEnv{t: t, ctx: ctx, c: c, cl: topic(t, saTopic+"-"+strconv.Itoa(replicas), saGroup, 6)}
	config := filepath.Join(cdir, "triggers.yaml")
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
    topic: %s-%d
    lagThreshold: "10"
`, strings.Join(kafka.ListenAddrs(), ","), saGroup, saTopic, replicas)), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range replicas {
		id := "replica-" + string(rune('a'+i))
		port, err := cluster.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		s, err := cluster.NewScaler(scaler.Bin, cdir, "--kubeconfig", c.Kubeconfig,
			"--external-metrics-config", config, "--external-metrics-port", strconv.Itoa(port),
			"--external-metrics-bind-address", "127.0.0.1", "--external-metrics-cert-dir", filepath.Join(cdir, id),
			"--lease-namespace", saNS, "--lease-identity", id, "--standalone-interval", "500ms")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Stop() })
		e.scalers, e.ids, e.apiPorts = append(e.scalers, s), append(e.ids, id), append(e.apiPorts, port)
	}
	if err := c.RegisterExternalMetrics(ctx, saNS, e.apiPorts[0]); err != nil {
		t.Fatal(err)
	}
	e.workload()
	return e
}

func (e *standaloneEnv) workload() {
	t, c, ctx := e.t, e.c, e.ctx
	zero := int32(0)
	labels := map[string]string{"app": saName}
	_, err := c.Client.AppsV1().Deployments(saNS).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: saName, Namespace: saNS},
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
	_, err = c.Client.AutoscalingV2().HorizontalPodAutoscalers(saNS).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: saName, Namespace: saNS},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: saName},
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
}

func (e *standaloneEnv) spec() int32 {
	d, err := e.c.Client.AppsV1().Deployments(saNS).Get(e.ctx, saName, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func (e *standaloneEnv) wait(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			var tails strings.Builder
			for i, s := range e.scalers {
				fmt.Fprintf(&tails, "%s:\n%s\n", e.ids[i], s.Proc().Tail(15))
			}
			e.t.Fatalf("%s: not after %s (replicas %d)\n%s\n%s", what, timeout, e.spec(), hpaStatus(e.c, saNS, saName), tails.String())
		}
		time.Sleep(100 * time.Millisecond) // polling the API server for an event
	}
}

// TestStandalone: a cluster without KEDA. A plain autoscaling/v2 HPA reads
// our external metric; the scaler owns 0 -> 1 and 1 -> 0 under a Lease
// held by one of two replicas; balloon pods keep headroom while the HPA's
// rate limit holds the workload below the predicted demand; SIGKILLing
// the leader hands over to the other replica without a flap: every value
// the workload's replicas take from the kill until the new leader writes
// 1 -> 0 is watched.
func TestStandalone(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	e := newStandaloneEnv(t, ctx, 2, nil)
	c := e.c
	e.wait("a leader is elected", 60*time.Second, func() bool { return leaseHolder(c, saNS) != "" })
	leader := leaseHolder(c, saNS)
	t.Logf("leader: %s", leader)

	produce(t, e.cl, 100) // lag 100 over 6 partitions: 6 replicas (capped)
	e.wait("0 -> 1 by the scaler", 30*time.Second, func() bool { return e.spec() >= 1 })
	balloonSeen := int32(0)
	e.wait("the HPA scales to 6 while the balloon holds headroom", 90*time.Second, func() bool {
		if b, err := c.Client.AppsV1().Deployments(saNS).Get(ctx, saName+"-tide-balloon", metav1.GetOptions{}); err == nil && b.Spec.Replicas != nil {
			balloonSeen = max(balloonSeen, *b.Spec.Replicas)
		}
		return e.spec() == 6
	})
	if balloonSeen == 0 {
		t.Errorf("no balloon replicas while the HPA ramped up 1 pod per 3 s towards a demand of 6")
	}
	e.wait("the balloon goes once the workload has caught up", 60*time.Second, func() bool {
		_, err := c.Client.AppsV1().Deployments(saNS).Get(ctx, saName+"-tide-balloon", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	pc, err := c.Client.SchedulingV1().PriorityClasses().Get(ctx, "tide-balloon", metav1.GetOptions{})
	if err != nil || pc.Value != -10 {
		t.Errorf("PriorityClass tide-balloon: %v (value %v), want value -10", err, pc)
	}

	// SIGKILL the leader: no shutdown, the Lease is not released. The
	// other replica takes over once it expires. The APIService is
	// re-pointed at the survivor, as a Service's endpoints would drop the
	// dead pod. Every value of the workload's replicas is recorded from
	// the kill until the new leader has written 1 -> 0.
	watch, err := watchReplicas(ctx, c.Client, saNS, saName)
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	survivor := e.killLeader(leader)
	if err := c.RegisterExternalMetrics(ctx, saNS, e.apiPorts[survivor]); err != nil {
		t.Fatal(err)
	}
	e.wait("the other replica takes the Lease", 60*time.Second, func() bool { h := leaseHolder(c, saNS); return h != "" && h != leader })
	// The new leader's steps run every 500 ms while there is work; its
	// Lease renewals show it has led for 3 s: six steps.
	e.wait("the new leader has led for 3 s", 30*time.Second, func() bool { return leaseHeldFor(c, saNS) >= 3*time.Second })
	workEnds := watch.mark()

	commitAll(t, e.cl, saTopic+"-2", saGroup)
	e.wait("the HPA goes to its minimum, 1", 60*time.Second, func() bool { return e.spec() == 1 })
	e.wait("1 -> 0 by the new leader after the cooldown", 60*time.Second, func() bool {
		return e.spec() == 0 && e.scalers[survivor].Proc().LogContains("scale-to-zero: scaled from 1 to 0")
	})
	changes, watchErrs := watch.stop()
	checkHandover(t, changes, workEnds, killed)
	if len(watchErrs) > 0 {
		t.Errorf("the replica watch failed, changes may be missing: %v", watchErrs)
	}

	// Events are recorded asynchronously: wait for the second one, then
	// check that each write has exactly one.
	counts := func() map[string]int32 {
		evs, err := c.Client.CoreV1().Events(saNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int32{}
		for _, ev := range evs.Items {
			if ev.InvolvedObject.Name == saName {
				n[ev.Reason] += max(ev.Count, 1)
			}
		}
		return n
	}
	e.wait("the TideScaledToZero Event", 30*time.Second, func() bool { return counts()["TideScaledToZero"] > 0 })
	if n := counts(); n["TideScaledFromZero"] != 1 || n["TideScaledToZero"] != 1 {
		t.Errorf("events %v, want exactly one TideScaledFromZero and one TideScaledToZero (one writer)", n)
	}
}

// TestStandaloneCapacityBuffer: with the CapacityBuffer CRD installed the
// headroom goes into a CapacityBuffer for the workload instead of balloon
// pods, and the buffer is removed once the workload has caught up.
func TestStandaloneCapacityBuffer(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	e := newStandaloneEnv(t, ctx, 1, func(c *cluster.Cluster) {
		if out, err := c.Kubectl(ctx, "apply", "-f", "testdata/capacitybuffer-crd.yaml"); err != nil {
			t.Fatalf("install the CapacityBuffer CRD: %v\n%s", err, out)
		}
		if out, err := c.Kubectl(ctx, "wait", "--for=condition=Established", "crd/capacitybuffers.autoscaling.x-k8s.io", "--timeout=30s"); err != nil {
			t.Fatalf("CRD not established: %v\n%s", err, out)
		}
	})
	gvr := schema.GroupVersionResource{Group: "autoscaling.x-k8s.io", Version: "v1beta1", Resource: "capacitybuffers"}
	produce(t, e.cl, 100)
	var bufferSeen int64
	e.wait("the HPA scales to 6 while a CapacityBuffer holds headroom", 90*time.Second, func() bool {
		if b, err := e.c.Dynamic.Resource(gvr).Namespace(saNS).Get(ctx, saName+"-tide-buffer", metav1.GetOptions{}); err == nil {
			r, _, _ := unstructured.NestedInt64(b.Object, "spec", "replicas")
			kind, _, _ := unstructured.NestedString(b.Object, "spec", "scalableRef", "kind")
			if kind != "Deployment" {
				t.Fatalf("buffer's scalableRef kind %q, want Deployment", kind)
			}
			bufferSeen = max(bufferSeen, r)
		}
		return e.spec() == 6
	})
	if bufferSeen == 0 {
		t.Error("no CapacityBuffer replicas while the HPA ramped up towards a demand of 6")
	}
	if _, err := e.c.Client.AppsV1().Deployments(saNS).Get(ctx, saName+"-tide-balloon", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a balloon Deployment exists although the CapacityBuffer CRD is installed (%v)", err)
	}
	e.wait("the buffer goes once the workload has caught up", 60*time.Second, func() bool {
		_, err := e.c.Dynamic.Resource(gvr).Namespace(saNS).Get(ctx, saName+"-tide-buffer", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// killLeader SIGKILLs the replica holding the Lease and returns the
// survivor's index. A killed leader never logs the end of its term.
func (e *standaloneEnv) killLeader(leader string) (survivor int) {
	for i, s := range e.scalers {
		if e.ids[i] != leader {
			survivor = i
			continue
		}
		s.Kill()
		if !s.Proc().Exited() || s.Proc().LogContains("stopped leading") {
			e.t.Fatalf("the leader %s was not killed (exited %v); log:\n%s", leader, s.Proc().Exited(), s.Proc().Tail(10))
		}
	}
	return survivor
}

// checkHandover: while there was work (before workEnds) the workload held
// 6 replicas; then it only went down, through the HPA's minimum 1, to 0.
func checkHandover(t *testing.T, changes []replicaChange, workEnds int, killed time.Time) {
	t.Helper()
	t.Logf("replicas from the kill on:\n%s", history(changes, killed))
	for _, c := range changes[:workEnds] {
		if c.replicas != 6 {
			t.Errorf("replicas %d while there was work, %s after the leader was killed; want 6 throughout (no flap)", c.replicas, c.at.Sub(killed).Round(time.Millisecond))
		}
	}
	var seq []int32
	for _, c := range changes[workEnds-1:] {
		seq = append(seq, c.replicas)
	}
	for i := 1; i < len(seq); i++ {
		if seq[i] > seq[i-1] {
			t.Errorf("replicas went back up after the work ended: %v", seq)
		}
	}
	if len(seq) < 3 || seq[len(seq)-2] != 1 || seq[len(seq)-1] != 0 {
		t.Errorf("replicas after the work ended: %v; want 6, down to the HPA's minimum 1, then 0", seq)
	}
}

// leaseHeldFor is how long the Lease's holder has held it, as the Lease
// records it (its last renewal since its acquisition).
func leaseHeldFor(c *cluster.Cluster, ns string) time.Duration {
	l, err := c.Client.CoordinationV1().Leases(ns).Get(context.Background(), "tide-scaler", metav1.GetOptions{})
	if err != nil || l.Spec.AcquireTime == nil || l.Spec.RenewTime == nil {
		return 0
	}
	return l.Spec.RenewTime.Sub(l.Spec.AcquireTime.Time)
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
