package cluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// nodes are the started nodes KillAll must clean up after.
var nodes = &nodeSet{m: map[*Node]struct{}{}}

type nodeSet struct {
	mu sync.Mutex
	m  map[*Node]struct{}
}

func (s *nodeSet) register(n *Node)   { s.mu.Lock(); s.m[n] = struct{}{}; s.mu.Unlock() }
func (s *nodeSet) unregister(n *Node) { s.mu.Lock(); delete(s.m, n); s.mu.Unlock() }

// cleanAll is KillAll's part for nodes, after their processes are killed.
func (s *nodeSet) cleanAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.m {
		cleanupNode(n.dir)
		delete(s.m, n)
	}
}

func setupBridge() error {
	for _, args := range [][]string{
		{"link", "add", bridgeName, "type", "bridge"},
		{"addr", "add", Gateway + "/24", "dev", bridgeName},
		{"link", "set", bridgeName, "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// cgroupMounts are the cgroup v1 hierarchies and the v2 one, as mounted.
func cgroupMounts() ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "... mountpoint ... - fstype source options"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields := strings.Fields(pre)
		if !ok || len(fields) < 5 {
			continue
		}
		if fs := strings.Fields(post); len(fs) > 0 && (fs[0] == "cgroup" || fs[0] == "cgroup2") {
			dirs = append(dirs, fields[4])
		}
	}
	return dirs, sc.Err()
}

// makeCgroup creates /cgroupRoot/sub in every hierarchy; a v1 cpuset
// cgroup starts with no CPUs or memory nodes, so it copies its parent's.
func makeCgroup(sub string) error {
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		parent := m
		for _, part := range strings.Split(strings.Trim(filepath.Join(cgroupRoot, sub), "/"), "/") {
			dir := filepath.Join(parent, part)
			if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
				return err
			}
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if b, err := os.ReadFile(filepath.Join(parent, f)); err == nil {
					if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
						return fmt.Errorf("%s: %w", filepath.Join(dir, f), err)
					}
				}
			}
			parent = dir
		}
	}
	return nil
}

func makeCgroupRoot() error { return makeCgroup("") }

// joinCgroup moves pid into /cgroupRoot/sub in every hierarchy.
func joinCgroup(pid int, sub string) error {
	if err := makeCgroup(sub); err != nil {
		return err
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return err
	}
	for _, m := range mounts {
		if err := os.WriteFile(filepath.Join(m, cgroupRoot, sub, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("move containerd into %s: %w", filepath.Join(m, cgroupRoot, sub), err)
		}
	}
	return nil
}

// removeSandboxes stops and removes every pod sandbox through the CRI, so
// that containerd tears down their network namespaces and mounts.
func removeSandboxes(ctx context.Context, sock string) error {
	if _, err := os.Stat(sock); err != nil {
		return nil
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return fmt.Errorf("CRI ListPodSandbox: %w", err)
	}
	for _, sb := range list.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return fmt.Errorf("CRI StopPodSandbox %s: %w", sb.Metadata.GetName(), err)
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			return fmt.Errorf("CRI RemovePodSandbox %s: %w", sb.Metadata.GetName(), err)
		}
	}
	return nil
}

// cleanupNode removes what a node leaves on the machine, whether it
// stopped in order or was killed: processes in its cgroups (shims,
// containers), mounts under any e2e node directory, the cgroups, the
// bridge. dir is the node directory of this run.
func cleanupNode(dir string) {
	mounts, _ := cgroupMounts()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		pids := 0
		for _, m := range mounts {
			_ = filepath.WalkDir(filepath.Join(m, cgroupRoot), func(p string, d os.DirEntry, err error) error {
				if err != nil || d.Name() != "cgroup.procs" {
					return nil
				}
				b, _ := os.ReadFile(p)
				for _, f := range strings.Fields(string(b)) {
					if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
						_ = syscall.Kill(pid, syscall.SIGKILL)
						pids++
					}
				}
				return nil
			})
		}
		if pids == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	unmountUnder(dir, filepath.Join(os.TempDir(), "tide-e2e-"))
	for _, m := range mounts {
		removeCgroupTree(filepath.Join(m, cgroupRoot))
	}
	_ = exec.Command("ip", "link", "del", bridgeName).Run()
}

// unmountUnder lazily unmounts every mount point under dir, and every
// node mount of an earlier run in a directory starting with tmpPrefix.
func unmountUnder(dir, tmpPrefix string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		p := fields[4]
		if strings.HasPrefix(p, dir+"/") || (strings.HasPrefix(p, tmpPrefix) && strings.Contains(p, "/node/")) {
			points = append(points, p)
		}
	}
	sort.Slice(points, func(i, j int) bool { return len(points[i]) > len(points[j]) })
	for _, p := range points {
		_ = syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

func removeCgroupTree(root string) {
	var dirs []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i])
	}
}
