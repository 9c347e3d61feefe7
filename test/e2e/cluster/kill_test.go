package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killedEnv marks the processes of TestSIGKILLLeavesNothing's child: the
// child runs the harness, and every process the harness starts inherits
// the variable, so /proc finds them after the child is gone and they have
// been reparented.
const (
	killedEnv    = "TIDE_E2E_KILLED_HARNESS"
	killedDirEnv = "TIDE_E2E_KILLED_HARNESS_DIR"
	harnessUp    = "harness up:"
	// orphanDeadline bounds how long the harness's processes may outlive
	// the killed test binary. The parent-death signal is sent by the
	// kernel as the child dies; this is slack for a loaded machine.
	orphanDeadline = 10 * time.Second
)

// TestSIGKILLLeavesNothing: a test binary killed with SIGKILL (no cleanup,
// no signal handler, no deferred Stop) while its control plane runs takes
// every process of the harness with it: the parent-death signal.
func TestSIGKILLLeavesNothing(t *testing.T) {
	marker := fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano())
	child := exec.Command(os.Args[0], "-test.run=^TestHelperKilledHarness$", "-test.timeout=5m", "-test.v")
	child.Env = append(os.Environ(), killedEnv+"="+marker, "TIDE_E2E_BIN="+binDir(t), killedDirEnv+"="+t.TempDir())
	child.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	child.Stderr = &stderr
	stdin, err := child.StdinPipe() // held open: the child runs until killed
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// Whatever happens below, nothing marked may outlive the test.
	defer func() {
		_ = child.Process.Kill()
		for _, p := range marked(t, marker, child.Process.Pid) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}()
	up := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), harnessUp) {
				up <- sc.Text()
			}
		}
		close(up)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-up:
		if !ok {
			_ = child.Wait()
			t.Fatalf("the child exited before its harness was up: %v\n%s", child.ProcessState, stderr.String())
		}
		t.Logf("child %d: %s", child.Process.Pid, line)
	case <-time.After(4 * time.Minute):
		t.Fatalf("the child's harness not up after 4 min\n%s", stderr.String())
	}

	// Control: the marker finds exactly the child's descendants, and they
	// are the harness's processes. A process in the middle of its execve
	// has no environment yet: agreement may take a moment.
	var before []markedProc
	for agreed := time.Now().Add(5 * time.Second); ; {
		before = marked(t, marker, child.Process.Pid)
		pids := make([]int, 0, len(before))
		for _, p := range before {
			pids = append(pids, p.pid)
		}
		desc := descendants(t, child.Process.Pid)
		slices.Sort(pids)
		slices.Sort(desc)
		if slices.Equal(pids, desc) && len(pids) >= 3 {
			break
		}
		if time.Now().After(agreed) {
			t.Fatalf("marked processes %v, descendants of the child %v: want the same, at least etcd, kube-apiserver and kube-controller-manager", before, desc)
		}
		time.Sleep(20 * time.Millisecond) // polling /proc
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed := time.Now()
	var left []markedProc
	for {
		if left = marked(t, marker, child.Process.Pid); len(left) == 0 {
			t.Logf("%d harness processes gone %s after the SIGKILL: %v", len(before), time.Since(killed).Round(time.Millisecond), before)
			return
		}
		if time.Since(killed) > orphanDeadline {
			t.Fatalf("%s after the child's SIGKILL, harness processes still run: %v (of %v)", orphanDeadline, left, before)
		}
		time.Sleep(20 * time.Millisecond) // polling /proc for other processes' exit
	}
}

// TestHelperKilledHarness is TestSIGKILLLeavesNothing's child: it starts
// the control plane and waits to be killed. It does nothing in a normal run.
func TestHelperKilledHarness(t *testing.T) {
	if os.Getenv(killedEnv) == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := Start(ctx, os.Getenv("TIDE_E2E_BIN"), os.Getenv(killedDirEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop() // only if the parent closes stdin instead of killing
	fmt.Printf("%s %d processes\n", harnessUp, len(c.procs))
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// markedProc is a live process carrying the marker in its environment.
type markedProc struct {
	pid  int
	comm string
}

func (p markedProc) String() string { return p.comm + "/" + strconv.Itoa(p.pid) }

// marked lists the live processes, other than this one and except, whose environment
// holds killedEnv=marker. Zombies have ended and are not listed.
func marked(t *testing.T, marker string, except int) []markedProc {
	t.Helper()
	want := []byte(killedEnv + "=" + marker)
	var out []markedProc
	for _, pid := range procPIDs(t) {
		if pid == except {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
		if err != nil || !slices.ContainsFunc(bytes.Split(env, []byte{0}), func(kv []byte) bool { return bytes.Equal(kv, want) }) {
			continue
		}
		comm, state, _, ok := procStat(pid)
		if !ok || state == 'Z' || state == 'X' {
			continue
		}
		out = append(out, markedProc{pid: pid, comm: comm})
	}
	return out
}

// descendants lists the live descendants of root from /proc's parent links.
func descendants(t *testing.T, root int) []int {
	t.Helper()
	parent := map[int]int{}
	for _, pid := range procPIDs(t) {
		if _, state, ppid, ok := procStat(pid); ok && state != 'Z' && state != 'X' {
			parent[pid] = ppid
		}
	}
	var out []int
	for pid := range parent {
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

func procPIDs(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("cannot scan /proc: %v", err)
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != os.Getpid() {
			out = append(out, pid)
		}
	}
	return out
}

// procStat reads the command name, state and parent of pid.
func procStat(pid int) (comm string, state byte, ppid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, 0, false
	}
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", 0, 0, false
	}
	f := strings.Fields(string(b[end+1:])) // state ppid ...
	if len(f) < 2 {
		return "", 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return string(b[open+1 : end]), f[0][0], ppid, err == nil
}
