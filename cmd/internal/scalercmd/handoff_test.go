package scalercmd

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/internal/gobuild"
)

// TestLeanHandsOff: without Kube (the lean binary), explain and the serve
// flags that need the Kubernetes client are a *Handoff naming what needs
// it, before anything starts; serve without them is not.
func TestLeanHandsOff(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		reason string
	}{
		{[]string{"explain", "-m", "source=kafka"}, "explain"},
		{[]string{"serve", "--hpa-awareness"}, "serve --hpa-awareness"},
		{[]string{"serve", "--inference-discovery"}, "serve --inference-discovery"},
		{[]string{"serve", "--external-metrics-config", "/nonexistent/triggers.yaml"}, "serve --external-metrics-config"},
	} {
		err := Run(context.Background(), tc.args, env(nil), io.Discard, io.Discard, nil)
		var h *Handoff
		if !errors.As(err, &h) || h.Reason != tc.reason {
			t.Errorf("%v: got %v, want a handoff for %q", tc.args, err, tc.reason)
		}
	}
	// Usage errors are the lean binary's own: no handoff for a bad flag.
	err := Run(context.Background(), []string{"serve", "--hpa-awareness", "--poll-interval", "0s"}, env(nil), io.Discard, io.Discard, nil)
	if h := (*Handoff)(nil); errors.As(err, &h) || cli.ExitCode(err) != cli.ExitUsage {
		t.Errorf("bad flag with --hpa-awareness: got %v, want a usage error", err)
	}
}

// TestBinaryHandoff builds both binaries into one directory: scaler runs
// explain by exec'ing scaler-kube; alone, it says what to install.
func TestBinaryHandoff(t *testing.T) {
	if testing.Short() {
		t.Skip("builds scaler and scaler-kube")
	}
	dir := t.TempDir()
	if out, err := exec.Command("go", append(append([]string{"build", "-o", dir + "/"}, gobuild.Flags()...), "../../scaler", "../../scaler-kube")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "scaler"), "explain", "-h").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "usage: scaler explain") {
		t.Fatalf("scaler explain -h beside scaler-kube: %v\n%s", err, out)
	}
	if err := os.Remove(filepath.Join(dir, "scaler-kube")); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(filepath.Join(dir, "scaler"), "explain", "-h").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cli.ExitError || !strings.Contains(string(out), "install scaler-kube beside this binary") {
		t.Fatalf("scaler explain -h alone: %v\n%s", err, out)
	}
}
