package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const short = `{"name": "tiny", "seconds": 120, "seed": 3,
  "goal": {"ttft": "p98:1s", "tpot": "p98:50ms"},
  "fleet": {"initial": 2, "max": 6, "startSeconds": 20},
  "kpaConcurrency": 16,
  "rates": [{"at": 0, "rps": 8}],
  "mix": [{"weight": 1, "prompt": 600, "output": 250}]}`

// TestRunWritesTheTableAndPlots: the command replays a traces directory,
// prints the table with every policy and the goals check, and with -out
// writes results.txt (the same bytes) and a plot per trace.
func TestRunWritesTheTableAndPlots(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tiny.json"), []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if err := run([]string{"-traces", dir, "-out", out}, &stdout); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"keda-waiting", "kpa-concurrency", "llmd-slo", "tide-goal", "tide slo% >= llmd slo%"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	txt, err := os.ReadFile(filepath.Join(out, "results.txt"))
	if err != nil || !bytes.Equal(txt, stdout.Bytes()) {
		t.Errorf("results.txt (%v) differs from the output", err)
	}
	if svg, err := os.ReadFile(filepath.Join(out, "series-tiny.svg")); err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Errorf("series-tiny.svg: %v", err)
	}
	if err := run([]string{"-traces", t.TempDir()}, &stdout); err == nil {
		t.Error("an empty traces directory: no error")
	}
}
