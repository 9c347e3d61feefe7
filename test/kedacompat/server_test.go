package kedacompat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
)

const (
	// readyTimeout bounds how long a freshly started server may take to
	// report SERVING.
	readyTimeout = 20 * time.Second
	// stopWaitDelay is how long a server gets after SIGTERM before the
	// exec package kills it.
	stopWaitDelay = 5 * time.Second
	// pollInterval is the --poll-interval every server under test runs with.
	pollInterval = 200 * time.Millisecond
)

// buildScaler builds ./cmd/scaler of the repository at repoRoot into dir and
// returns the binary's path. On failure the error holds the build output.
func buildScaler(repoRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "scaler")
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, raceFlags()...), "./cmd/scaler")...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build -o %s ./cmd/scaler (in %s): %v\n%s", bin, repoRoot, err, out)
	}
	return bin, nil
}

// raceFlags builds the scaler the way this test binary was built: with
// -race under `go test -race` (make test), so the scaler KEDA's client talks
// to runs with the race detector and its packages are compiled once. This
// module does not require the root module, hence not internal/gobuild.
func raceFlags() []string {
	if race {
		return []string{"-race"}
	}
	return nil
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", err
	}
	return addr, nil
}

// syncBuffer is a bytes.Buffer safe for the exec package's copy goroutines
// and a concurrent reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// server is one running scaler process.
type server struct {
	GRPCAddr string
	HTTPAddr string

	cmd    *exec.Cmd
	cancel context.CancelFunc
	output *syncBuffer // stdout and stderr, interleaved

	done    chan struct{} // closed when cmd.Wait returned
	waitErr error         // cmd.Wait's result, valid once done is closed
	exitAt  time.Time     // when cmd.Wait returned, valid once done is closed

	stopOnce sync.Once
}

// startServer runs `bin serve` on two free loopback ports with the suite's
// flags plus extra, and waits until it is ready. The returned server must be
// stopped with Stop; on error it has already been stopped.
func startServer(bin string, extra ...string) (*server, error) {
	grpcAddr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("pick a gRPC port: %w", err)
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("pick an HTTP port: %w", err)
	}
	return startServerAt(bin, grpcAddr, httpAddr, extra...)
}

// startServerAt is startServer on the given addresses (for replicas that
// must know each other's address before either starts).
func startServerAt(bin, grpcAddr, httpAddr string, extra ...string) (*server, error) {
	args := []string{
		"serve",
		"--grpc-addr", grpcAddr,
		"--http-addr", httpAddr,
		"--poll-interval", pollInterval.String(),
		"--log-format", "json",
	}
	args = append(args, extra...)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopWaitDelay
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Should the test binary itself die (panic, -timeout), the kernel
		// kills the server so no process is left behind.
		Pdeathsig: syscall.SIGKILL,
	}
	s := &server{
		GRPCAddr: grpcAddr,
		HTTPAddr: httpAddr,
		cmd:      cmd,
		cancel:   cancel,
		output:   &syncBuffer{},
		done:     make(chan struct{}),
	}
	cmd.Stdout = s.output
	cmd.Stderr = s.output
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s %s: %w", bin, strings.Join(args, " "), err)
	}
	go func() {
		s.waitErr = cmd.Wait()
		s.exitAt = time.Now()
		close(s.done)
	}()
	if err := s.waitReady(readyTimeout); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s %s: %w\n--- server output ---\n%s", bin, strings.Join(args, " "), err, s.Output())
	}
	return s, nil
}

// waitReady polls grpc.health.v1 Check (service "") and GET /readyz until
// either says the server is ready, the process exits, or timeout passes.
func (s *server) waitReady(timeout time.Duration) error {
	conn, err := grpc.NewClient(s.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	health := healthpb.NewHealthClient(conn)
	httpc := &http.Client{Timeout: time.Second}

	deadline := time.Now().Add(timeout)
	var last string
	for {
		select {
		case <-s.done:
			return fmt.Errorf("server exited before it was ready: %v", s.waitErr)
		default:
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: ""})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if err != nil {
			last = "health Check: " + err.Error()
		} else {
			last = "health Check: " + resp.GetStatus().String()
		}

		if r, err := httpc.Get("http://" + s.HTTPAddr + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == http.StatusOK {
				return nil
			}
			last += fmt.Sprintf("; GET /readyz: %d", r.StatusCode)
		} else {
			last += "; GET /readyz: " + err.Error()
		}

		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v (neither gRPC health SERVING nor /readyz 200); last: %s", timeout, last)
		}
		select {
		case <-s.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Signal sends sig to the server process.
func (s *server) Signal(sig os.Signal) error { return s.cmd.Process.Signal(sig) }

// Done is closed when the process has exited.
func (s *server) Done() <-chan struct{} { return s.done }

// ExitErr is the result of cmd.Wait; only valid once Done is closed.
func (s *server) ExitErr() error { return s.waitErr }

// ExitedAt is when the process was reaped; only valid once Done is closed.
func (s *server) ExitedAt() time.Time { return s.exitAt }

// Output is everything the server printed so far.
func (s *server) Output() string { return s.output.String() }

// Tail is the last n lines of Output.
func (s *server) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(s.Output(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// Stop sends SIGTERM (through cmd.Cancel), waits for the process to exit
// (killed after stopWaitDelay) and returns its exit error. Safe to call
// more than once and after the process exited by itself.
func (s *server) Stop() error {
	s.stopOnce.Do(s.cancel)
	select {
	case <-s.done:
	case <-time.After(stopWaitDelay + 5*time.Second):
		// WaitDelay should have killed it; make sure nothing is left.
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if ps := s.cmd.ProcessState; ps != nil && ps.Success() {
		// Wait reports the context's error when Cancel (our SIGTERM)
		// was used and the process then exited 0: that is a clean stop.
		return nil
	}
	var exitErr *exec.ExitError
	if errors.As(s.waitErr, &exitErr) && !exitErr.Exited() {
		return fmt.Errorf("server did not exit by itself: %v", s.waitErr)
	}
	return s.waitErr
}

// dial opens a KEDA client to addr the way KEDA does: plaintext gRPC.
func dial(addr string) (externalscaler.ExternalScalerClient, *grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	return externalscaler.NewExternalScalerClient(conn), conn, nil
}
