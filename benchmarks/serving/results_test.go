//go:build !race

// The full replay takes about 30 s without the race detector and minutes
// with it, so this file is left out of -race builds (run it with
// go test ./serving/...); the harness itself is tested under -race by
// run_test.go.

package serving

import (
	"bytes"
	"os"
	"testing"
)

// TestCommittedResultsMatchAFreshRun: results/serving/results.txt is what
// the committed traces give now (regenerate with make bench-serving).
func TestCommittedResultsMatchAFreshRun(t *testing.T) {
	want, err := os.ReadFile("../results/serving/results.txt")
	if err != nil {
		t.Fatal(err)
	}
	trs, err := Load("traces")
	if err != nil {
		t.Fatal(err)
	}
	outs, err := RunAll(trs)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	Report(&got, trs, outs)
	if got.String() != string(want) {
		t.Errorf("results/serving/results.txt is stale; run make bench-serving. Fresh run:\n%s", got.String())
	}
}
