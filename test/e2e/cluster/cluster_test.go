package cluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binDir is scripts/e2e-build.sh's output (TIDE_E2E_BIN under make e2e).
func binDir(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("TIDE_E2E_BIN"); b != "" {
		return b
	}
	root, _ := filepath.Abs("../../..")
	out, err := exec.Command(filepath.Join(root, "scripts/e2e-build.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/e2e-build.sh: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestStartStopLeavesNothing: the control plane comes up, serves, and an
// orderly stop ends every process, etcd last.
func TestStartStopLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, binDir(t), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, p := range c.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	if v, err := c.Client.Discovery().ServerVersion(); err != nil || !strings.HasPrefix(v.GitVersion, "v1.") {
		t.Errorf("server version %v, %v", v, err)
	}
	c.Stop()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); err == nil {
			t.Errorf("process %d still running after Stop", pid)
		}
	}
	procsMu.Lock()
	defer procsMu.Unlock()
	if len(procs) != 0 {
		t.Errorf("%d processes still tracked", len(procs))
	}
}
