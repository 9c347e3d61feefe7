package cluster

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// BuildScaler builds cmd/scaler and, beside it, cmd/scaler-kube (which
// scaler execs for --hpa-awareness and --external-metrics-config) from the
// repository at root into dir, and returns scaler's path.
func BuildScaler(root, dir string) (string, error) {
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/scaler", "./cmd/scaler-kube")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/scaler ./cmd/scaler-kube: %w\n%s", err, out)
	}
	return filepath.Join(dir, "scaler"), nil
}

// Scaler is one Tide process on fixed loopback ports, so that it can be
// stopped and started again where KEDA expects it.
type Scaler struct {
	Bin            string
	Dir            string
	GRPCPort, HTTP int
	Args           []string // extra flags
	proc           *Proc
	starts         int
}

// NewScaler picks free ports for a scaler built at bin.
func NewScaler(bin, dir string, args ...string) (*Scaler, error) {
	g, err := freePort()
	if err != nil {
		return nil, err
	}
	h, err := freePort()
	if err != nil {
		return nil, err
	}
	return &Scaler{Bin: bin, Dir: dir, GRPCPort: g, HTTP: h, Args: args}, nil
}

// Addr is the gRPC address ScaledObjects use as scalerAddress.
func (s *Scaler) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.GRPCPort) }

// Start runs the scaler and waits until /readyz answers.
func (s *Scaler) Start(ctx context.Context) error {
	s.starts++
	args := append([]string{"serve",
		"--grpc-addr", s.Addr(), "--http-addr", "127.0.0.1:" + strconv.Itoa(s.HTTP),
		"--poll-interval", "500ms", "--shutdown-timeout", "5s", "--log-level", "debug",
	}, s.Args...)
	p, err := start(s.Dir, "scaler-"+strconv.Itoa(s.GRPCPort)+"-"+strconv.Itoa(s.starts), s.Bin, args, nil)
	if err != nil {
		return err
	}
	s.proc = p
	return waitReady(ctx, p, 20*time.Second, func(ctx context.Context) error {
		return httpOK(ctx, nil, "http://127.0.0.1:"+strconv.Itoa(s.HTTP)+"/readyz", "")
	})
}

// Stop sends SIGTERM (a graceful drain) and waits.
func (s *Scaler) Stop() error {
	if s.proc == nil {
		return nil
	}
	return s.proc.Stop()
}

// Kill ends the scaler with SIGKILL (a crash).
func (s *Scaler) Kill() {
	if s.proc != nil {
		s.proc.Kill()
	}
}

// Proc is the current process.
func (s *Scaler) Proc() *Proc { return s.proc }
