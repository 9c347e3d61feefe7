package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// KEDAVersion is the KEDA release the operator and adapter are built from
// (scripts/e2e-build.sh); its CRDs come from the same module.
const KEDAVersion = "v2.21.0"

// StartKEDA installs KEDA's CRDs and runs its operator and metrics adapter
// against the cluster, the adapter registered as the external metrics API.
func (c *Cluster) StartKEDA(ctx context.Context) error {
	crds, err := kedaCRDs()
	if err != nil {
		return err
	}
	if out, err := c.Kubectl(ctx, "apply", "--server-side", "-f", crds); err != nil {
		return fmt.Errorf("install KEDA CRDs: %w\n%s", err, out)
	}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, namespace("keda"), metav1.CreateOptions{}); err != nil {
		return err
	}
	certs := filepath.Join(c.Dir, "keda-certs")
	if err := writeLoopbackPKI(certs); err != nil {
		return err
	}
	ports := make([]int, 4)
	for i := range ports {
		if ports[i], err = freePort(); err != nil {
			return err
		}
	}
	probe, grpcPort, adapterPort := ports[0], ports[1], ports[2]
	env := []string{"WATCH_NAMESPACE=", "POD_NAMESPACE=keda", "KEDA_CLUSTER_OBJECT_NAMESPACE=keda", "KUBECONFIG=" + c.Kubeconfig}
	// The operator resolves scalerAddress names through a hosts file of
	// its own (SetHosts), bind-mounted over /etc/hosts in a private mount
	// namespace: the cluster has no DNS, and the machine's file stays as
	// it is.
	c.hosts = filepath.Join(c.Dir, "keda-hosts")
	if err := c.SetHosts(nil); err != nil {
		return err
	}
	op, err := c.runBin("keda-operator", "unshare", []string{
		"--mount", "--propagation", "private", "--", "sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`,
		c.hosts, filepath.Join(c.Bin, "keda-operator"),
		"--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(probe),
		"--metrics-service-bind-address=127.0.0.1:" + strconv.Itoa(grpcPort),
		"--cert-dir=" + certs, "--ca-dir=" + certs,
		"--enable-webhook-patching=false", "--enable-apiservice-patching=false", "--leader-elect=false",
		"--zap-log-level=info",
	}, env)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, op, 60*time.Second, func(ctx context.Context) error {
		return httpOK(ctx, nil, "http://127.0.0.1:"+strconv.Itoa(probe)+"/readyz", "")
	}); err != nil {
		return err
	}
	ad, err := c.run("keda-adapter", []string{
		"--secure-port=" + strconv.Itoa(adapterPort), "--bind-address=127.0.0.1", "--cert-dir=" + certs,
		"--tls-cert-file=" + filepath.Join(certs, "tls.crt"), "--tls-private-key-file=" + filepath.Join(certs, "tls.key"),
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig,
		"--lister-kubeconfig=" + c.Kubeconfig,
		"--metrics-service-address=127.0.0.1:" + strconv.Itoa(grpcPort), "--metrics-service-grpc-authority=localhost",
	}, env)
	if err != nil {
		return err
	}
	if err := c.RegisterExternalMetrics(ctx, "keda", adapterPort); err != nil {
		return err
	}
	return waitReady(ctx, ad, 60*time.Second, func(ctx context.Context) error {
		_, err := c.Client.Discovery().ServerResourcesForGroupVersion("external.metrics.k8s.io/v1beta1")
		return err
	})
}

// SetHosts makes the KEDA operator resolve each name to its addresses
// (cluster DNS for headless Services would), on top of the machine's
// /etc/hosts. It rewrites the file in place: the bind mount follows the
// inode, and Go's resolver re-reads the file when its mtime changes.
func (c *Cluster) SetHosts(names map[string][]string) error {
	base, err := os.ReadFile("/etc/hosts")
	if err != nil {
		return err
	}
	var b strings.Builder
	b.Write(base)
	keys := make([]string, 0, len(names))
	for name := range names {
		keys = append(keys, name)
	}
	sort.Strings(keys)
	for _, name := range keys {
		for _, addr := range names[name] {
			fmt.Fprintf(&b, "%s %s\n", addr, name)
		}
	}
	return os.WriteFile(c.hosts, []byte(b.String()), 0o644)
}

// RegisterExternalMetrics points external.metrics.k8s.io/v1beta1 at a
// server on 127.0.0.1:port: an ExternalName Service for localhost and an
// APIService that skips TLS verification (the aggregator cannot route to
// loopback endpoints, but it can to an ExternalName).
func (c *Cluster) RegisterExternalMetrics(ctx context.Context, ns string, port int) error {
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: external-metrics, namespace: %[1]s}
spec: {type: ExternalName, externalName: localhost, ports: [{port: %[2]d}]}
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.external.metrics.k8s.io}
spec:
  group: external.metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service: {name: external-metrics, namespace: %[1]s, port: %[2]d}
`, ns, port)
	if out, err := c.KubectlStdin(ctx, manifest, "apply", "-f", "-"); err != nil {
		return fmt.Errorf("register external metrics: %w\n%s", err, out)
	}
	return nil
}

// kedaCRDs is KEDA's CRD directory in the module cache (the build put the
// module there).
func kedaCRDs() (string, error) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com/kedacore/keda/v2@"+KEDAVersion, "config/crd/bases")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("KEDA CRDs: %w (run scripts/e2e-build.sh)", err)
	}
	return dir, nil
}

// Kubectl runs kubectl against the cluster and returns its combined output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) (string, error) {
	return c.KubectlStdin(ctx, "", args...)
}

// KubectlStdin is Kubectl with stdin.
func (c *Cluster) KubectlStdin(ctx context.Context, stdin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Bin, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// GVRs the tests use with the dynamic client.
var (
	ScaledObjects = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}
)
