package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one process of the cluster: started in its own process group so
// that a stop reaches its children too, and with the parent-death signal
// set so that a test binary killed by `go test -timeout` or a signal does
// not leave it running.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // valid after done
}

// killGrace is how long a process gets between SIGTERM and SIGKILL. An API
// server whose etcd is gone can hang on SIGTERM for minutes.
const killGrace = 5 * time.Second

// start runs bin with args and env, its output in dir/<name>.log.
func start(dir, name, bin string, args, env []string) (*Proc, error) {
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, cmd: cmd, log: log, done: make(chan struct{})}
	track(p)
	go func() {
		p.err = cmd.Wait()
		log.Close()
		untrack(p)
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after killGrace,
// and waits. It returns the process's exit error, nil for a clean exit.
func (p *Proc) Stop() error {
	return p.signal(syscall.SIGTERM, killGrace)
}

// Kill ends the process group at once (a crash, not a shutdown).
func (p *Proc) Kill() {
	_ = p.signal(syscall.SIGKILL, killGrace)
}

func (p *Proc) signal(sig syscall.Signal, grace time.Duration) error {
	if p.Exited() {
		return p.err
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	return p.err
}

// Tail returns the last n lines of the process's log.
func (p *Proc) Tail(n int) string {
	b, err := os.ReadFile(p.log.Name())
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LogLineContains reports whether one line of the process's log holds
// every one of subs.
func (p *Proc) LogLineContains(subs ...string) bool {
	b, _ := os.ReadFile(p.log.Name())
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(line, s)
		}
		if all {
			return true
		}
	}
	return false
}

// LogContains reports whether the process's log holds s.
func (p *Proc) LogContains(s string) bool {
	b, _ := os.ReadFile(p.log.Name())
	return bytes.Contains(b, []byte(s))
}

// Every started process is tracked so that KillAll can end them from a
// signal handler or TestMain, whatever state the tests left.
var (
	procsMu sync.Mutex
	procs   = map[*Proc]struct{}{}
)

func track(p *Proc) {
	procsMu.Lock()
	defer procsMu.Unlock()
	procs[p] = struct{}{}
}

func untrack(p *Proc) {
	procsMu.Lock()
	defer procsMu.Unlock()
	delete(procs, p)
}

// KillAll kills every process still running, at once. It is the last
// resort of an interrupted run; Cluster.Stop is the orderly way.
func KillAll() {
	procsMu.Lock()
	ps := make([]*Proc, 0, len(procs))
	for p := range procs {
		ps = append(ps, p)
	}
	procsMu.Unlock()
	for _, p := range ps {
		p.Kill()
	}
	nodes.cleanAll()
}

// waitReady polls check until it succeeds, the process exits, or timeout.
func waitReady(ctx context.Context, p *Proc, timeout time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited before it was ready (%v); log tail:\n%s", p.Name, p.err, p.Tail(30))
		}
		if last = check(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w; log tail:\n%s", p.Name, timeout, errors.Join(last, ctx.Err()), p.Tail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}
