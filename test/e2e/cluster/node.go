package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The node's fixed names. One e2e run per machine: StartNode first removes
// what a killed run may have left under these names.
const (
	NodeName   = "tide-e2e-node"
	bridgeName = "tide-e2e0"
	podSubnet  = "10.244.0.0/24"
	// Gateway is the host as pods see it (the bridge's address). A server
	// the pods must reach (Kafka, Redis) listens on it; the host reaches it
	// too.
	Gateway = "10.244.0.1"
	// cgroupRoot holds every process the node starts: the kubelet's
	// kubepods tree and containerd with its shims (cgroup v1 hierarchies).
	cgroupRoot = "tide-e2e"
	// PauseImage is the sandbox image, built here (test/e2e/build/pause).
	PauseImage = "tide-e2e.invalid/pause:1"
)

// NodeTaint keeps every pod off the node but those that tolerate it: the
// other tests' workloads stay Pending (they watch .spec.replicas) and only
// the scaler under test runs.
var NodeTaint = corev1.Taint{Key: "tide-e2e.invalid/node", Value: "scaler", Effect: corev1.TaintEffectNoSchedule}

// Node is one real worker node: containerd 2 with its runc shim and runc
// (built by scripts/e2e-build.sh), Debian's CNI plugins (bridge,
// host-local, loopback), the kubelet and the scheduler. Pods get addresses on a bridge
// of their own; the host routes to them directly.
type Node struct {
	c    *Cluster
	dir  string
	sock string // containerd's gRPC socket
}

// debianBinaries are what the node needs from Debian (scripts/deps.sh e2e).
var debianBinaries = []string{"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "ip", "unshare", "mount"}

// NodeMissing names what StartNode needs and this machine lacks, or "".
func NodeMissing(bin string) string {
	for _, b := range debianBinaries {
		if _, err := exec.LookPath(b); err != nil {
			return b + " (scripts/deps.sh e2e: containernetworking-plugins, iproute2, util-linux)"
		}
	}
	for _, b := range []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "kubelet", "kube-scheduler"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return b + " (scripts/e2e-build.sh)"
		}
	}
	if os.Geteuid() != 0 {
		return "root (the kubelet and containerd mount, and create cgroups and network namespaces)"
	}
	return ""
}

// StartNode brings up the node and waits until it is Ready. images are
// docker-archives to import into containerd besides the pause image (the
// scaler's), so that nothing is pulled.
func (c *Cluster) StartNode(ctx context.Context, images ...string) (n *Node, err error) {
	if m := NodeMissing(c.Bin); m != "" {
		return nil, fmt.Errorf("the node needs %s", m)
	}
	n = &Node{c: c, dir: filepath.Join(c.Dir, "node")}
	n.sock = filepath.Join(n.dir, "containerd.sock")
	cleanupNode(n.dir) // a killed run's leftovers
	nodes.register(n)
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()
	for _, d := range []string{"cni/net.d", "cni/ipam", "kubelet", "pod-logs"} {
		if err := os.MkdirAll(filepath.Join(n.dir, d), 0o755); err != nil {
			return n, err
		}
	}
	if err := setupBridge(); err != nil {
		return n, err
	}
	if err := makeCgroupRoot(); err != nil {
		return n, err
	}
	if err := n.startContainerd(ctx); err != nil {
		return n, err
	}
	pause, err := buildPauseImage(c.Dir)
	if err != nil {
		return n, err
	}
	for _, img := range append([]string{pause}, images...) {
		if out, err := n.Ctr(ctx, "images", "import", "--platform", "linux/amd64", img); err != nil {
			return n, fmt.Errorf("import %s into containerd: %w\n%s", img, err, out)
		}
	}
	if err := n.startKubelet(ctx); err != nil {
		return n, err
	}
	_, err = c.run("kube-scheduler", []string{
		"--kubeconfig", c.Kubeconfig, "--authentication-kubeconfig", c.Kubeconfig, "--authorization-kubeconfig", c.Kubeconfig,
		"--secure-port", "0", "--leader-elect=false", "--v", "2",
	}, nil)
	return n, err
}

// Ctr runs containerd's ctr against the node's containerd, in the CRI's
// namespace.
func (n *Node) Ctr(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(n.c.Bin, "ctr"), append([]string{"--address", n.sock, "--namespace", "k8s.io"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (n *Node) startContainerd(ctx context.Context) error {
	conf := filepath.Join(n.dir, "containerd.toml")
	if err := os.WriteFile(conf, []byte(containerdConfig(n.dir, n.sock, filepath.Join(n.c.Bin, "runc"))), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.dir, "cni/net.d/10-tide-e2e.conflist"), []byte(cniConfig(n.dir)), 0o644); err != nil {
		return err
	}
	// PATH: containerd finds its shim next to itself.
	p, err := n.c.run("containerd", []string{"--config", conf}, []string{"PATH=" + n.c.Bin + ":" + os.Getenv("PATH")})
	if err != nil {
		return err
	}
	// The shims containerd spawns leave its process group, but not its
	// cgroup: that is how Stop finds them.
	if err := joinCgroup(p.cmd.Process.Pid, "runtime"); err != nil {
		return err
	}
	return waitReady(ctx, p, 60*time.Second, func(ctx context.Context) error {
		_, err := n.Ctr(ctx, "version")
		return err
	})
}

func (n *Node) startKubelet(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	health, err := freePort()
	if err != nil {
		return err
	}
	conf := filepath.Join(n.dir, "kubelet.yaml")
	if err := os.WriteFile(conf, []byte(kubeletConfig(n.dir, n.sock, port, health)), 0o644); err != nil {
		return err
	}
	p, err := n.c.run("kubelet", []string{
		"--config", conf, "--kubeconfig", n.c.Kubeconfig, "--root-dir", filepath.Join(n.dir, "kubelet"),
		"--hostname-override", NodeName, "--node-ip", Gateway, "--v", "2",
	}, nil)
	if err != nil {
		return err
	}
	return waitReady(ctx, p, 120*time.Second, func(ctx context.Context) error {
		node, err := n.c.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				if cond.Status == corev1.ConditionTrue {
					return nil
				}
				return fmt.Errorf("node %s not ready: %s", NodeName, cond.Message)
			}
		}
		return errors.New("node has no Ready condition yet")
	})
}

// Stop stops the scheduler and the kubelet, removes every pod sandbox
// through the CRI (their network namespaces, CNI addresses and root
// filesystems), stops containerd, then kills whatever is left in the
// node's cgroups and removes its mounts, cgroups and bridge.
func (n *Node) Stop() {
	for _, name := range []string{"kube-scheduler", "kubelet"} {
		if p := n.c.Proc(name); p != nil {
			_ = p.Stop()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := removeSandboxes(ctx, n.sock); err != nil {
		fmt.Fprintln(os.Stderr, "e2e node:", err)
	}
	if p := n.c.Proc("containerd"); p != nil {
		_ = p.Stop()
	}
	cleanupNode(n.dir)
	nodes.unregister(n)
}

// LogPath is where the kubelet and containerd write, for failure reports.
func (n *Node) LogPath(name string) string {
	return filepath.Join(n.c.Dir, name+".log")
}

func itoa(i int) string { return strconv.Itoa(i) }

// PodLogTail returns the last n lines of every container log of the pods
// of namespace ns on the node (the kubelet writes them under podLogsDir).
func (n *Node) PodLogTail(ns string, lines int) string {
	files, _ := filepath.Glob(filepath.Join(n.dir, "pod-logs", ns+"_*", "*", "*.log"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		ls := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(ls) > lines {
			ls = ls[len(ls)-lines:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", strings.TrimPrefix(f, n.dir+"/pod-logs/"), strings.Join(ls, "\n"))
	}
	return b.String()
}
