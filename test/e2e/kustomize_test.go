package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// TestKustomizeMutualTLS applies deploy/kustomize/overlays/keda-mtls as
// shipped (through a kustomization that only sets the image and the node's
// toleration) with certificates the test makes, and the
// ClusterTriggerAuthentications of deploy/examples/tide-client-tls.yaml:
// KEDA presents its client certificate (tide-mtls) and scales a Redis list
// 0 -> N -> 0; with the caCert-only tide-ca, the scaler refuses KEDA.
func TestKustomizeMutualTLS(t *testing.T) {
	needNode(t)
	pki := testpki.NewFor(t, "tide."+tideNS+".svc.cluster.local")
	ensureNamespace(t, tideNS)
	secret(t, tideNS, "tide-tls", map[string]string{"tls.crt": pki.ServerCert, "tls.key": pki.ServerKey, "ca.crt": pki.CA})
	secret(t, "keda", "tide-client-tls", map[string]string{"ca.crt": pki.CA, "tls.crt": pki.ClientCert, "tls.key": pki.ClientKey})
	if out, err := kube.Kubectl(t.Context(), "apply", "-f", filepath.Join(root, "deploy/examples/tide-client-tls.yaml")); err != nil {
		t.Fatalf("apply deploy/examples/tide-client-tls.yaml: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		_, _ = kube.Kubectl(context.Background(), "delete", "-f", filepath.Join(root, "deploy/examples/tide-client-tls.yaml"))
	})

	dir := t.TempDir()
	overlay, err := filepath.Rel(dir, filepath.Join(root, "deploy/kustomize/overlays/keda-mtls"))
	if err != nil {
		t.Fatal(err)
	}
	repo, tag, _ := strings.Cut(cluster.ScalerImage, ":")
	k := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [%q]
images: [{name: ghcr.io/tide-scaler/tide, newName: %q, newTag: %q}]
patches:
- target: {kind: Deployment, name: tide}
  patch: |-
    - {op: add, path: /spec/template/spec/tolerations, value: [{key: %q, operator: Equal, value: %q, effect: %s}]}
    - {op: add, path: /spec/template/spec/containers/0/imagePullPolicy, value: Never}
`, overlay, repo, tag, cluster.NodeTaint.Key, cluster.NodeTaint.Value, cluster.NodeTaint.Effect)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := kube.Kubectl(t.Context(), "apply", "-k", dir); err != nil {
		t.Fatalf("kubectl apply -k (overlays/keda-mtls): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := kube.Kubectl(context.Background(), "delete", "deployment,service,pdb", "--all", "-n", tideNS, "--wait"); err != nil {
			t.Errorf("delete the kustomize install: %v\n%s", err, out)
		}
	})
	scalerPodsReady(t, tideNS, "tide", scalerPods)

	rs := testredis.Start(t, testredis.Config{Args: []string{"--bind", "127.0.0.1", cluster.Gateway}})
	addr := fmt.Sprintf("%s:%d", cluster.Gateway, rs.Port)
	redisSO := func(ns, auth string) {
		deployment(t, ns, "jobs", nil)
		apply(t, scaledObjectYAML(ns, "jobs", 2, 5, 20, fmt.Sprintf(`  - type: external
    authenticationRef: {name: %s, kind: ClusterTriggerAuthentication}
    metadata:
      scalerAddress: %q
      source: redis
      address: %q
      listName: %q
      listLength: "5"
`, auth, tideAddr, addr, ns)))
	}

	t.Run("ClientCertificate", func(t *testing.T) {
		ns := testNamespace(t)
		redisSO(ns, "tide-mtls")
		waitHPA(t, ns, "jobs")
		for range 12 {
			rs.Do("RPUSH", ns, "job") // 12 jobs, 5 per replica: 3
		}
		waitReplicas(t, ns, "jobs", "scale to ceil(12/5) = 3", 90*time.Second, func(r int32) bool { return r == 3 }, nil)
		rs.Do("DEL", ns)
		waitReplicas(t, ns, "jobs", "back to 0", 90*time.Second, func(r int32) bool { return r == 0 }, nil)
	})
	t.Run("NoClientCertificate", func(t *testing.T) {
		ns := testNamespace(t)
		redisSO(ns, "tide-ca")
		rs.Do("RPUSH", ns, "job")
		// The scaler refuses the handshake: KEDA cannot read the metric
		// spec, so it creates no HPA and never activates the workload.
		deadline := time.Now().Add(60 * time.Second)
		for !kube.Proc("keda-operator").LogLineContains(`"namespace":"`+ns+`"`, "tls: certificate required") {
			if time.Now().After(deadline) {
				t.Fatalf("KEDA reported no refused handshake for %s\n%s", ns, status(ns, "jobs"))
			}
			time.Sleep(200 * time.Millisecond) // polling KEDA's log
		}
		if r := replicas(t, ns, "jobs"); r != 0 {
			t.Fatalf("replicas %d with the scaler refusing KEDA, want 0\n%s", r, status(ns, "jobs"))
		}
		if _, err := kube.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(t.Context(), "keda-hpa-jobs", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("an HPA exists (%v) though the scaler refused KEDA\n%s", err, status(ns, "jobs"))
		}
	})
}

func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	_, err := kube.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// secret creates (or replaces) a Secret and deletes it after the test.
func secret(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
	_ = kube.Client.CoreV1().Secrets(ns).Delete(t.Context(), name, metav1.DeleteOptions{})
	if _, err := kube.Client.CoreV1().Secrets(ns).Create(t.Context(), s, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = kube.Client.CoreV1().Secrets(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}
