package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// The shared world of every test: one control plane with KEDA, one Tide
// process, one in-process Kafka cluster.
var (
	kube   *cluster.Cluster
	scaler *cluster.Scaler
	kafka  *kfake.Cluster
	root   string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) (code int) {
	// An interrupted run (Ctrl-C, a CI timeout's SIGTERM) must not leave
	// a control plane behind: kill everything, then exit.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "e2e: %v: killing the cluster\n", s)
		cluster.KillAll()
		os.Exit(130)
	}()
	defer cluster.KillAll() // whatever an orderly stop missed

	fail := func(err error) int { fmt.Fprintln(os.Stderr, "e2e:", err); return 1 }
	var err error
	if root, err = filepath.Abs("../.."); err != nil {
		return fail(err)
	}
	bin := os.Getenv("TIDE_E2E_BIN")
	if bin == "" {
		out, err := exec.Command(filepath.Join(root, "scripts/e2e-build.sh")).Output()
		if err != nil {
			return fail(fmt.Errorf("scripts/e2e-build.sh: %w", err))
		}
		bin = strings.TrimSpace(string(out))
	}
	dir, err := os.MkdirTemp("", "tide-e2e-")
	if err != nil {
		return fail(err)
	}
	defer func() {
		if code == 0 {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintln(os.Stderr, "e2e: logs kept in", dir)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if kube, err = cluster.Start(ctx, bin, dir); err != nil {
		return fail(err)
	}
	defer kube.Stop()
	defer stopNode() // if a test started it; before the control plane stops
	if err := kube.StartKEDA(ctx); err != nil {
		return fail(err)
	}
	fmt.Fprintf(os.Stderr, "e2e: control plane and KEDA up in %s\n", time.Since(start).Round(time.Millisecond))

	if kafka, err = kfake.NewCluster(kfake.NumBrokers(3)); err != nil {
		return fail(err)
	}
	defer kafka.Close()

	scalerBin, err := cluster.BuildScaler(root, dir)
	if err != nil {
		return fail(err)
	}
	if scaler, err = cluster.NewScaler(scalerBin, dir); err != nil {
		return fail(err)
	}
	if err := scaler.Start(ctx); err != nil {
		return fail(err)
	}
	defer func() {
		if err := scaler.Stop(); err != nil && code == 0 {
			fmt.Fprintln(os.Stderr, "e2e: the scaler did not stop cleanly:", err)
			code = 1
		}
	}()
	return m.Run()
}
