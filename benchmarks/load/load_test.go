package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/testci"
)

// TestQuickLoad runs the whole load run in -quick mode (500 triggers, 500
// streams, 10 s) against the real scaler binary: every check of the run
// must pass (values, streams, SIGTERM drain with status OK, exit 0), and
// no child process may be left behind. It asserts no timing.
func TestQuickLoad(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		testci.Missing(t, "redis-server is not installed (Debian package redis-server; run scripts/deps.sh): the load run needs it")
	}
	if testing.Short() {
		t.Skip("-short: the load run takes ~20 s")
	}
	var report, progress bytes.Buffer
	err := run(t.Context(), defaults().quick(), &report, &progress)
	t.Logf("progress:\n%s\nreport:\n%s", &progress, &report)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| RSS MiB |", "| GetMetrics |", "| health Check (baseline) |", "| kafka |", "| redis |", "| scrape |"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report has no %q row", want)
		}
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes left behind: %v", kids)
	}
}

// children lists this process's live children (pids), from every thread's
// /proc children file.
func children(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil || len(files) == 0 {
		t.Logf("cannot list child processes (%v); not checked", err)
		return nil
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited
		}
		out = append(out, strings.Fields(string(b))...)
	}
	return out
}
