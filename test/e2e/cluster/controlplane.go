package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// token is the bearer token of the cluster's only user, in system:masters.
const token = "tide-e2e-admin-token"

// Cluster is a control plane on loopback: etcd, kube-apiserver and
// kube-controller-manager (HPA, Deployment, ReplicaSet, service-account,
// EndpointSlice, disruption and root-CA controllers), optionally KEDA's
// operator and metrics adapter and one real node (StartNode) that runs only
// pods tolerating NodeTaint: the other tests' pods stay Pending and they
// watch .spec.replicas, which the HPA and KEDA write through the scale
// subresource.
type Cluster struct {
	Dir        string // everything the cluster writes: data, certificates, logs
	Bin        string // the directory scripts/e2e-build.sh printed
	Server     string // https://127.0.0.1:<port>
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface

	procs []*Proc // in start order; stopped in reverse
	hosts string  // KEDA's operator's /etc/hosts (SetHosts)
}

// Start brings up etcd, the API server and the controller manager in dir.
func Start(ctx context.Context, bin, dir string) (c *Cluster, err error) {
	c = &Cluster{Dir: dir, Bin: bin}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	etcdURL, err := c.startEtcd(ctx)
	if err != nil {
		return c, err
	}
	if err := c.startAPIServer(ctx, etcdURL); err != nil {
		return c, err
	}
	if err := c.startControllerManager(); err != nil {
		return c, err
	}
	return c, nil
}

// Stop stops every process in reverse start order: whatever talks to the
// API server first, etcd last.
func (c *Cluster) Stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		_ = c.procs[i].Stop()
	}
	c.procs = nil
}

// Proc returns the named process, or nil.
func (c *Cluster) Proc(name string) *Proc {
	for _, p := range c.procs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

func (c *Cluster) run(name string, args, env []string) (*Proc, error) {
	return c.runBin(name, filepath.Join(c.Bin, name), args, env)
}

func (c *Cluster) runBin(name, bin string, args, env []string) (*Proc, error) {
	p, err := start(c.Dir, name, bin, args, env)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) startEtcd(ctx context.Context) (string, error) {
	client, err := freePort()
	if err != nil {
		return "", err
	}
	peer, err := freePort()
	if err != nil {
		return "", err
	}
	clientURL := "http://127.0.0.1:" + strconv.Itoa(client)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
	p, err := c.run("etcd", []string{
		"--data-dir", filepath.Join(c.Dir, "etcd"), "--unsafe-no-fsync",
		"--listen-client-urls", clientURL, "--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default=" + peerURL, "--log-level", "warn",
	}, nil)
	if err != nil {
		return "", err
	}
	return clientURL, waitReady(ctx, p, 30*time.Second, func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, clientURL+"/health", "")
	})
}

func (c *Cluster) startAPIServer(ctx context.Context, etcdURL string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	saKey := filepath.Join(c.Dir, "sa.key")
	if err := writeServiceAccountKey(saKey); err != nil {
		return err
	}
	tokens := filepath.Join(c.Dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(token+",admin,admin-uid,system:masters\n"), 0o600); err != nil {
		return err
	}
	p, err := c.run("kube-apiserver", []string{
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(port), "--cert-dir", filepath.Join(c.Dir, "apiserver"),
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
		"--token-auth-file", tokens, "--authorization-mode", "AlwaysAllow",
		"--endpoint-reconciler-type", "none",
	}, nil)
	if err != nil {
		return err
	}
	c.Server = "https://127.0.0.1:" + strconv.Itoa(port)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := waitReady(ctx, p, 90*time.Second, func(ctx context.Context) error {
		return httpOK(ctx, insecure, c.Server+"/readyz", token)
	}); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, []byte(kubeconfig(c.Server)), 0o600); err != nil {
		return err
	}
	c.Config = &rest.Config{Host: c.Server, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS: 100, Burst: 200}
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	c.Dynamic, err = dynamic.NewForConfig(c.Config)
	return err
}

func (c *Cluster) startControllerManager() error {
	_, err := c.run("kube-controller-manager", []string{
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--secure-port", "0", "--leader-elect=false",
		// endpointslice, disruption, root-ca-cert-publisher and the node
		// lifecycle controller (it lifts the not-ready taint), namespace and
		// garbagecollector (a test namespace deleted is emptied, so KEDA stops
		// polling its ScaledObjects) serve the
		// node's pods: Service endpoints, PDB status, the CA ConfigMap
		// every service-account token volume projects.
		"--controllers", "horizontalpodautoscaling,deployment,replicaset,serviceaccount,endpointslice,disruption,root-ca-cert-publisher,nodelifecycle,namespace,garbagecollector",
		"--root-ca-file", filepath.Join(c.Dir, "apiserver", "apiserver.crt"),
		"--horizontal-pod-autoscaler-sync-period", "1s",
	}, nil)
	return err
}

func kubeconfig(server string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: %q, insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: %q}
contexts:
- name: e2e
  context: {cluster: e2e, user: admin}
current-context: e2e
`, server, token)
}

func httpOK(ctx context.Context, client *http.Client, url, bearer string) error {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
