package buildlayers

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/testci"
)

const root = "../.."

// dryRun returns the commands `make -n target` would run in the repository.
func dryRun(t *testing.T, target string) string {
	t.Helper()
	if _, err := exec.LookPath("make"); err != nil {
		testci.Missing(t, "make is not on PATH (apt-get install make)")
	}
	cmd := exec.Command("make", "-n", target)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", target, err, out)
	}
	return string(out)
}

// TestMakeTestNeedsNoControlPlane: `make test` neither builds the e2e control
// plane nor compiles the e2e module or benchmarks/compare (KEDA's scalers);
// `make e2e` and `make compare-check` do.
func TestMakeTestNeedsNoControlPlane(t *testing.T) {
	test := dryRun(t, "test")
	for _, bad := range []string{"e2e-build", "test/e2e", "benchmarks/compare", "TIDE_E2E_BIN"} {
		if strings.Contains(test, bad) {
			t.Errorf("make test runs something with %q:\n%s", bad, test)
		}
	}
	for _, want := range []string{"go test -race -count=1 ./...", "scripts/fuzz.sh", "cd test/kedacompat && go test -race",
		"scripts/proto.sh check", "staticcheck", "go vet -race ./..."} {
		if !strings.Contains(test, want) {
			t.Errorf("make test lacks %q:\n%s", want, test)
		}
	}
	e2e := dryRun(t, "e2e")
	for _, want := range []string{"cd test/e2e && go vet ./...", "scripts/e2e-build.sh", "cd test/e2e && TIDE_E2E_BIN="} {
		if !strings.Contains(e2e, want) {
			t.Errorf("make e2e lacks %q:\n%s", want, e2e)
		}
	}
	cmp := dryRun(t, "compare-check")
	for _, want := range []string{"cd benchmarks/compare && go vet ./...", "go test -count=1 ./..."} {
		if !strings.Contains(cmp, want) {
			t.Errorf("make compare-check lacks %q:\n%s", want, cmp)
		}
	}
}

// TestMakeTestLinksNoKEDAScalers: the modules `make test` compiles (the main
// module, test/kedacompat, benchmarks) link no KEDA scaler beyond the
// external-scaler client, nor KEDA's or Kubernetes' commands — those take
// tens of minutes to compile cold and belong to the other layers.
func TestMakeTestLinksNoKEDAScalers(t *testing.T) {
	for _, dir := range []string{".", "test/kedacompat", "benchmarks"} {
		cmd := exec.Command("go", "list", "-deps", "-test", "./...")
		cmd.Dir = root + "/" + dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps -test ./... in %s: %v", dir, err)
		}
		for _, p := range strings.Fields(string(out)) {
			keda := strings.HasPrefix(p, "github.com/kedacore/keda/v2/") &&
				p != "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
			if keda || strings.HasPrefix(p, "k8s.io/kubernetes/") || strings.HasPrefix(p, "go.etcd.io/etcd/server") {
				t.Errorf("%s links %s", dir, p)
			}
		}
	}
}

// TestCIRunsTheReadmeCommands: .ci/run runs `make test`, `make e2e` and
// `make compare-check` and `make image-check` in that order, and the
// README names each.
func TestCIRunsTheReadmeCommands(t *testing.T) {
	ci, err := os.ReadFile(root + "/.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(root + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^make ([a-z0-9-]+)(?:\s+[A-Z_]+=\S+)*\s*$`).FindAllStringSubmatch(string(ci), -1) {
		got = append(got, m[1])
		if !strings.Contains(string(readme), "make "+m[1]) {
			t.Errorf(".ci/run runs make %s; the README does not name it", m[1])
		}
	}
	if want := "test e2e compare-check image-check"; strings.Join(got, " ") != want {
		t.Errorf(".ci/run runs make %q, want %q", got, want)
	}
}
