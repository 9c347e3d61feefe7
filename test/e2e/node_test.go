package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tide-scaler/tide/internal/testci"
	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// The node and what runs on the host for its pods, started by the first
// test that needs them (needNode) and stopped by TestMain.
var (
	nodeOnce    sync.Once
	node        *cluster.Node
	nodeKafka   *kfake.Cluster // listens on cluster.Gateway: pods reach it
	nodeErr     error
	nodeMissing string
)

// needNode returns the running node, starting it on first use: the
// scaler's image built by build/image, imported with a pause image built
// here, a real kubelet. Without root, runc or the CNI plugins it skips the
// test (fails it under CI=true).
func needNode(t *testing.T) *cluster.Node {
	t.Helper()
	nodeOnce.Do(func() {
		if nodeMissing = cluster.NodeMissing(kube.Bin); nodeMissing != "" {
			return
		}
		start := time.Now()
		img, err := cluster.BuildScalerImage(root, kube.Dir)
		if err != nil {
			nodeErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		if node, nodeErr = kube.StartNode(ctx, img); nodeErr != nil {
			return
		}
		nodeKafka, nodeErr = kfake.NewCluster(kfake.NumBrokers(3), kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return net.Listen(network, net.JoinHostPort(cluster.Gateway, port))
		}))
		fmt.Fprintf(os.Stderr, "e2e: node %s up with the scaler's image in %s\n", cluster.NodeName, time.Since(start).Round(time.Millisecond))
	})
	if nodeMissing != "" {
		testci.Missing(t, "no real node: this machine lacks %s", nodeMissing)
	}
	if nodeErr != nil {
		t.Fatalf("start the node: %v", nodeErr)
	}
	return node
}

// stopNode is TestMain's: before the control plane stops.
func stopNode() {
	if nodeKafka != nil {
		nodeKafka.Close()
	}
	if node != nil {
		node.Stop()
	}
}

// helmBin finds (or builds) the pinned Helm once per run.
var helmBin = sync.OnceValues(func() ([]byte, error) {
	return exec.Command(filepath.Join(root, "scripts/tools.sh"), "--bin", "helm").Output()
})

// helm runs the pinned Helm (scripts/tools.sh) against the cluster, with
// its configuration in a temporary directory.
func helm(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := helmBin()
	if err != nil {
		t.Fatalf("scripts/tools.sh --bin helm: %v", err)
	}
	home := t.TempDir()
	// Not t.Context(): an uninstall runs in t.Cleanup, after it is done.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, strings.TrimSpace(string(bin)), append(args, "--kubeconfig", kube.Kubeconfig)...)
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s\n%s", strings.Join(args, " "), err, out, podReport(args))
	}
	return string(out)
}

// podReport describes the pods and events of the namespace named by
// "--namespace" in args, for a failure message.
func podReport(args []string) string {
	ns := ""
	for i, a := range args {
		if a == "--namespace" && i+1 < len(args) {
			ns = args[i+1]
		}
	}
	if ns == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := kube.Kubectl(ctx, "get", "deploy,rs,pods,endpointslices,pdb", "-o", "wide", "-n", ns)
	ev, _ := kube.Kubectl(ctx, "get", "events", "-n", ns, "--sort-by=.lastTimestamp")
	return out + "\nevents:\n" + ev
}

// scalerPodsReady waits until the Deployment's pods are all Ready on the
// node and the headless Service's EndpointSlices list exactly them, then
// points the KEDA operator's name for the Service at those addresses
// (cluster DNS would answer the same for a headless Service). It returns
// the ready addresses.
func scalerPodsReady(t *testing.T, ns, service string, want int) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		addrs, podIPs, why := serviceAddresses(t, ns, service)
		if why == "" && len(addrs) == want && strings.Join(addrs, ",") == strings.Join(podIPs, ",") {
			name := service + "." + ns + ".svc.cluster.local"
			if err := kube.SetHosts(map[string][]string{name: addrs}); err != nil {
				t.Fatal(err)
			}
			return addrs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s: want %d ready endpoints; have %v, ready pods %v: %s", ns, service, want, addrs, podIPs, why)
		}
		time.Sleep(500 * time.Millisecond) // polling the API server for the kubelet's and the controllers' work
	}
}

// serviceAddresses returns the ready addresses of the Service's
// EndpointSlices and the IPs of its Ready pods, both sorted, or why not.
func serviceAddresses(t *testing.T, ns, service string) (addrs, podIPs []string, why string) {
	t.Helper()
	slices, err := kube.Client.DiscoveryV1().EndpointSlices(ns).List(t.Context(), metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return nil, nil, err.Error()
	}
	for _, s := range slices.Items {
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && *e.Conditions.Ready {
				addrs = append(addrs, e.Addresses...)
			}
		}
	}
	pods, err := kube.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		return nil, nil, err.Error()
	}
	for _, p := range pods.Items {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				podIPs = append(podIPs, p.Status.PodIP)
			}
		}
		if p.Spec.NodeName == "" {
			why = "pod " + p.Name + " not scheduled"
		}
	}
	sort.Strings(addrs)
	sort.Strings(podIPs)
	return addrs, podIPs, why
}
