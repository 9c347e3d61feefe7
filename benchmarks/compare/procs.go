package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// child is a process this run started: in its own process group, killed if
// the run dies (Pdeathsig), and stopped with SIGTERM then SIGKILL.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startChild(name string, stdout, stderr io.Writer, bin string, args ...string) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { c.err = cmd.Wait(); close(c.done) }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM to the group and SIGKILL after 10 s.
func (c *child) stop() {
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		<-c.done
	}
}

// runJSON runs `self args...` to completion and decodes its stdout into v.
func runJSON(ctx context.Context, self string, v any, args ...string) error {
	cmd := exec.CommandContext(ctx, self, args...)
	var stderr strings.Builder
	cmd.Stderr = io.MultiWriter(os.Stderr, &stderr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.Output()
	if err != nil {
		last := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(last, '\n'); i >= 0 {
			last = last[i+1:]
		}
		return fmt.Errorf("%s: %w: %s", args[0], err, truncate(last, 300))
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s: decode %q: %w", args[0], truncate(string(out), 200), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// freePort is a loopback port nobody listened on a moment ago.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startBroker starts `compare broker` with extra flags and reads its
// address line.
func startBroker(self string, partitions, groups, records int, extra ...string) (*child, brokerInfo, error) {
	pr, pw := io.Pipe()
	c, err := startChild("broker", pw, os.Stderr, self, append([]string{"broker",
		"-partitions", strconv.Itoa(partitions), "-groups", strconv.Itoa(groups), "-records", strconv.Itoa(records)}, extra...)...)
	if err != nil {
		return nil, brokerInfo{}, err
	}
	var info brokerInfo
	line, err := bufio.NewReader(pr).ReadBytes('\n')
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if err == nil {
		err = json.Unmarshal(line, &info)
	}
	if err != nil {
		c.stop()
		return nil, info, fmt.Errorf("broker did not start: %w", err)
	}
	return c, info, nil
}

// tide is a running `scaler serve`.
type tide struct {
	*child
	grpc, http string
}

// startTide starts Tide's scaler with a poll interval and waits for /readyz.
func startTide(ctx context.Context, bin string, poll time.Duration) (*tide, error) {
	g, err := freePort()
	if err != nil {
		return nil, err
	}
	h, err := freePort()
	if err != nil {
		return nil, err
	}
	// Tide's log (and gRPC's own warnings when a driver hangs up) go to a
	// file next to its binary, read back only when it fails to start.
	logPath := bin + ".log"
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	c, err := startChild("tide", io.Discard, logf, bin, "serve", "--grpc-addr", g, "--http-addr", h,
		"--poll-interval", poll.String(), "--log-level", "error", "--max-triggers", "0")
	if err != nil {
		return nil, err
	}
	t := &tide{child: c, grpc: g, http: h}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + h + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return t, nil
			}
		}
		select {
		case <-c.done:
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("tide exited: %v: %s", c.err, truncate(string(b), 2000))
		case <-ctx.Done():
			c.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	c.stop()
	return nil, errors.New("tide not ready after 20s")
}

// startRedis starts Debian's redis-server on a free port, with no
// persistence and room for one connection per KEDA scaler.
func startRedis(ctx context.Context, maxClients int) (*child, string, error) {
	addr, err := freePort()
	if err != nil {
		return nil, "", err
	}
	_, port, _ := net.SplitHostPort(addr)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("redis-server not found (make deps installs it): %w", err)
	}
	c, err := startChild("redis-server", io.Discard, os.Stderr, bin, "--port", port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--maxclients", strconv.Itoa(maxClients))
	if err != nil {
		return nil, "", err
	}
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	for i := 0; ; i++ {
		if err := rc.Ping(ctx).Err(); err == nil {
			return c, addr, nil
		} else if i > 200 {
			c.stop()
			return nil, "", fmt.Errorf("redis-server not answering: %w", err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// seedLists fills lists jobs-00000.. with i%20 entries each, pipelined.
func seedLists(ctx context.Context, addr string, n int) error {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	for start := 0; start < n; start += 1000 {
		pipe := rc.Pipeline()
		for i := start; i < min(n, start+1000); i++ {
			if k := i % 20; k > 0 {
				vals := make([]any, k)
				for j := range vals {
					vals[j] = "job"
				}
				pipe.RPush(ctx, listName(i), vals...)
			}
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("seed lists: %w", err)
		}
	}
	return nil
}
