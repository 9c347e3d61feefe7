package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// nodeValues are the Helm values every install on the node needs: the
// image imported into the node's containerd (never pulled) and the
// toleration of the node's taint.
func nodeValues() string {
	repo, tag, _ := strings.Cut(cluster.ScalerImage, ":")
	return fmt.Sprintf(`image: {repository: %q, tag: %q, pullPolicy: Never}
tolerations:
- {key: %q, operator: Equal, value: %q, effect: %s}
`, repo, tag, cluster.NodeTaint.Key, cluster.NodeTaint.Value, cluster.NodeTaint.Effect)
}

func TestHelmInstallSmoke(t *testing.T) {
	needNode(t)
	const ns = "tide-helm"
	pki := testpki.NewFor(t, "tide."+ns+".svc.cluster.local")
	if _, err := kube.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := kube.Client.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "tide-tls"}, Type: corev1.SecretTypeTLS,
		StringData: map[string]string{"tls.crt": pki.ServerCert, "tls.key": pki.ServerKey, "ca.crt": pki.CA},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	values := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(values, []byte(nodeValues()+"tls: {enabled: true}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out := helm(t, "install", "tide", filepath.Join(root, "deploy/helm/tide"), "--namespace", ns, "-f", values, "--wait", "--timeout", "3m")
	t.Logf("helm install in %s:\n%s", time.Since(start), out)
	addrs := scalerPodsReady(t, ns, "tide", 2)
	t.Logf("endpoints %v", addrs)
}
