package gobuild

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFlagsMatchTheBuild builds a tiny program with Flags and reads back
// with `go version -m` whether it was built with -race: it must be exactly
// when this test binary was.
func TestFlagsMatchTheBuild(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "probe")
	args := append([]string{"build", "-o", bin}, Flags()...)
	cmd := exec.Command("go", append(args, "./testdata/probe")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Contains(string(info), "-race=true")
	if got != race {
		t.Errorf("Flags() = %q: built with -race %v, this test binary %v\n%s", Flags(), got, race, info)
	}
	if race != slices.Contains(Flags(), "-race") {
		t.Errorf("Flags() = %q with race = %v", Flags(), race)
	}
}
