//go:build !race

// The full replay takes about 30 s without the race detector and minutes
// with it, so this file is left out of -race builds (run it with
// go test ./serving/...); the harness itself is tested under -race by
// run_test.go.

package serving

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedResultsMatchAFreshRun: results/serving (results.txt and
// the plots) is what the committed traces give now (regenerate with make
// bench-serving).
func TestCommittedResultsMatchAFreshRun(t *testing.T) {
	trs, err := Load("traces")
	if err != nil {
		t.Fatal(err)
	}
	outs, err := RunAll(trs)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(trs, outs)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("../results/serving/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(committed) != len(files) {
		t.Errorf("results/serving holds %d files, a run writes %d; run make bench-serving", len(committed), len(files))
	}
	for name, data := range files {
		want, err := os.ReadFile(filepath.Join("../results/serving", name))
		if err != nil {
			t.Errorf("%v; run make bench-serving", err)
			continue
		}
		if !bytes.Equal(want, data) {
			t.Errorf("results/serving/%s is stale; run make bench-serving. Fresh:\n%s", name, files["results.txt"])
		}
	}
}
