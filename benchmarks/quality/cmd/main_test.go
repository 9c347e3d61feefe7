package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -trace replays one file against every policy and prints both tables.
func TestRunOneTrace(t *testing.T) {
	var out strings.Builder
	if err := run([]string{"-trace", "../traces/burst.json"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"burst (goal 60s)", "keda ", "tide-drain", "Goals per trace", "MET"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// A bad trace file is an error naming the file and the field.
func TestRunBadTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.json")
	b, err := os.ReadFile("../traces/burst.json")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(b), `"goalSeconds": 60`, `"goalSeconds": -5`, 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	err = run([]string{"-trace", path}, &strings.Builder{})
	if err == nil || !strings.Contains(err.Error(), "mine.json") || !strings.Contains(err.Error(), "goalSeconds: -5") {
		t.Errorf("error %v, want the file and goalSeconds: -5", err)
	}
	if err := run([]string{"stray"}, &strings.Builder{}); err == nil {
		t.Errorf("a stray argument was accepted")
	}
}
