package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// The namespace and address deploy/examples assume.
const (
	tideNS     = "tide-system"
	tideAddr   = "tide." + tideNS + ".svc.cluster.local:9090"
	tideCA     = "{name: tide-ca, kind: ClusterTriggerAuthentication}"
	scalerPods = 2
)

// nodeValues are the only Helm values an install on the node changes: the
// image imported into the node's containerd (never pulled) and the
// toleration of the node's taint.
func nodeValues(t *testing.T) string {
	t.Helper()
	repo, tag, _ := strings.Cut(cluster.ScalerImage, ":")
	f := filepath.Join(t.TempDir(), "values.yaml")
	v := fmt.Sprintf(`image: {repository: %q, tag: %q, pullPolicy: Never}
tolerations:
- {key: %q, operator: Equal, value: %q, effect: %s}
`, repo, tag, cluster.NodeTaint.Key, cluster.NodeTaint.Value, cluster.NodeTaint.Effect)
	if err := os.WriteFile(f, []byte(v), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestHelmDefaultInstall installs the chart with its default values (TLS
// with Helm-made certificates, the ClusterTriggerAuthentications the
// examples name) as real pods on the node, checks what the pod spec
// promises, then scales through KEDA -> TLS -> the scaler pods: Redis with
// deploy/examples/redis.yaml as it is shipped (only the upstream address
// and the timings changed) and Kafka with a push trigger, each 0 -> N -> 0.
func TestHelmDefaultInstall(t *testing.T) {
	n := needNode(t)
	start := time.Now()
	helm(t, "install", "tide", filepath.Join(root, "deploy/helm/tide"), "--namespace", tideNS, "--create-namespace",
		"-f", nodeValues(t), "--wait", "--timeout", "3m")
	t.Cleanup(func() { helmUninstall(t, tideNS) })
	t.Logf("helm install --wait: %s", time.Since(start).Round(time.Millisecond))
	addrs := scalerPodsReady(t, tideNS, "tide", scalerPods)
	t.Logf("the headless Service's ready endpoints: %v", addrs)
	checkScalerPods(t, tideNS)

	t.Run("RedisExample", func(t *testing.T) {
		ns := testNamespace(t)
		const password = "change-me" // the example's Secret
		rs := testredis.Start(t, testredis.Config{
			Args: []string{"--bind", "127.0.0.1", cluster.Gateway, "--requirepass", password}, Password: password,
		})
		ex, err := os.ReadFile(filepath.Join(root, "deploy/examples/redis.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		manifest := replaceAll(t, string(ex),
			"redis.queues.svc.cluster.local:6379", fmt.Sprintf("%s:%d", cluster.Gateway, rs.Port),
			"pollingInterval: 10", "pollingInterval: 2",
			"cooldownPeriod: 120", "cooldownPeriod: 5")
		if out, err := kube.KubectlStdin(t.Context(), manifest, "apply", "-n", ns, "-f", "-"); err != nil {
			t.Fatalf("apply deploy/examples/redis.yaml: %v\n%s", err, out)
		}
		waitHPA(t, ns, "thumbnailer")
		for range 45 {
			rs.Do("RPUSH", "thumbnails", "job") // 45 jobs, listLength 20: 3 replicas
		}
		waitReplicas(t, ns, "thumbnailer", "scale to ceil(45/20) = 3", 90*time.Second, func(r int32) bool { return r == 3 }, nil)
		rs.Do("DEL", "thumbnails")
		waitReplicas(t, ns, "thumbnailer", "back to 0", 90*time.Second, func(r int32) bool { return r == 0 }, nil)
	})

	t.Run("KafkaPush", func(t *testing.T) {
		ns := testNamespace(t)
		const name, group, partitions = "orders", "orders-workers", 6
		cl := topicOn(t, nodeKafka, ns+"-orders", group, partitions)
		deployment(t, ns, name, nil)
		apply(t, scaledObjectYAML(ns, name, 30, 5, 20, kafkaTriggerAt(tideAddr, nodeKafka, tideCA, ns+"-orders", group, 10, "")))
		waitHPA(t, ns, name)
		produce(t, cl, 100) // 10 replicas wanted, capped at the 6 partitions
		_, took := waitReplicas(t, ns, name, "activation 0 -> 1", 30*time.Second, func(r int32) bool { return r >= 1 }, nil)
		t.Logf("activated %s after the lag appeared (pollingInterval 30 s: the push over TLS did it)", took.Round(time.Millisecond))
		waitReplicas(t, ns, name, "the partition cap", 60*time.Second, func(r int32) bool { return r == partitions }, nil)
		commitAll(t, cl, ns+"-orders", group)
		waitReplicas(t, ns, name, "back to 0", 90*time.Second, func(r int32) bool { return r == 0 }, nil)
	})
	if t.Failed() {
		t.Logf("scaler pod logs:\n%s", n.PodLogTail(tideNS, 20))
	}
}

// checkScalerPods checks what the chart's pod spec promises against the
// running pods: non-root with a read-only root filesystem, the TLS Secret
// mounted, probes passing (Ready, no restarts), the PodDisruptionBudget
// allowing exactly one eviction of the two, and refusing the second.
func checkScalerPods(t *testing.T, ns string) {
	t.Helper()
	pods, err := kube.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != scalerPods {
		t.Fatalf("%d scaler pods, want %d", len(pods.Items), scalerPods)
	}
	for _, p := range pods.Items {
		c := p.Spec.Containers[0]
		sc := c.SecurityContext
		psc := p.Spec.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
			t.Errorf("pod %s: want a non-root, read-only root filesystem container; securityContext %+v", p.Name, sc)
		}
		if c.LivenessProbe == nil || c.ReadinessProbe == nil || c.StartupProbe == nil {
			t.Errorf("pod %s: want startup, liveness and readiness probes", p.Name)
		}
		mounted := false
		for _, m := range c.VolumeMounts {
			mounted = mounted || m.MountPath == "/etc/tide/tls"
		}
		if !mounted {
			t.Errorf("pod %s: the TLS Secret is not mounted at /etc/tide/tls", p.Name)
		}
		for _, st := range p.Status.ContainerStatuses {
			if st.RestartCount != 0 || !st.Ready {
				t.Errorf("pod %s: container %s ready=%v restarts=%d", p.Name, st.Name, st.Ready, st.RestartCount)
			}
		}
	}
	pdb, err := kube.Client.PolicyV1().PodDisruptionBudgets(ns).Get(t.Context(), "tide", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for pdb.Status.DisruptionsAllowed != 1 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond) // the disruption controller's status
		if pdb, err = kube.Client.PolicyV1().PodDisruptionBudgets(ns).Get(t.Context(), "tide", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if pdb.Status.CurrentHealthy != scalerPods || pdb.Status.DisruptionsAllowed != 1 {
		t.Fatalf("PDB: %d healthy, %d disruptions allowed; want %d and 1", pdb.Status.CurrentHealthy, pdb.Status.DisruptionsAllowed, scalerPods)
	}
	evict := func(p corev1.Pod) error {
		return kube.Client.PolicyV1().Evictions(ns).Evict(t.Context(), &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: ns}})
	}
	if err := evict(pods.Items[0]); err != nil {
		t.Fatalf("the first eviction (a node drain) must pass the PDB: %v", err)
	}
	if err := evict(pods.Items[1]); !apierrors.IsTooManyRequests(err) {
		t.Fatalf("the second eviction, with one scaler left, must be refused by the PDB (429); got %v", err)
	}
	// The evicted pod's replacement: both ready again before KEDA needs them.
	scalerPodsReady(t, ns, "tide", scalerPods)
}

func helmUninstall(t *testing.T, ns string) {
	t.Helper()
	helm(t, "uninstall", "tide", "--namespace", ns, "--wait", "--timeout", "2m")
}

// replaceAll replaces each old with its new, failing when one is absent
// (the example changed under the test).
func replaceAll(t *testing.T, s string, oldNew ...string) string {
	t.Helper()
	for i := 0; i+1 < len(oldNew); i += 2 {
		if !strings.Contains(s, oldNew[i]) {
			t.Fatalf("the manifest no longer contains %q", oldNew[i])
		}
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	return s
}
