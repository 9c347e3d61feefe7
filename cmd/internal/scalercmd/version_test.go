package scalercmd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/gobuild"
	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/internal/version"
)

// TestVersionCommand: `scaler version` prints this build's version,
// revision and Go toolchain.
func TestVersionCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, env(nil), &out, &errb); err != nil {
		t.Fatal(err)
	}
	in := version.Get()
	for _, want := range []string{"tide scaler " + in.Version + "\n", "revision: " + in.Revision + "\n", "go: " + runtime.Version() + "\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("scaler version printed %q; want it to hold %q", out.String(), want)
		}
	}
}

// buildInfoLine is the /metrics sample of tide_build_info for in.
func buildInfoLine(in version.Info) string {
	return fmt.Sprintf("tide_build_info{goversion=%q,revision=%q,version=%q} 1\n", in.GoVersion, in.Revision, in.Version)
}

// servingBuild is the "serving" line of a text log: its HTTP address and
// the build it names.
var servingBuild = regexp.MustCompile(`msg=serving grpc=\S+ http=(\S+) .*version=(\S+) revision=(\S+)`)

// TestServeNamesBuild: serve's start-up line and /metrics
// (tide_build_info) name the version and revision.
func TestServeNamesBuild(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &testlog.Buffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--shutdown-timeout", "2s"},
			env(nil), &bytes.Buffer{}, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	in := version.Get()
	checkServeBuild(t, stderr, in)
}

// checkServeBuild waits for the serving line in log, checks it names in's
// version and revision, and that /metrics exports tide_build_info for in.
func checkServeBuild(t *testing.T, log *testlog.Buffer, in version.Info) {
	t.Helper()
	var m []string
	if !waitFor(20*time.Second, func() bool { m = servingBuild.FindStringSubmatch(log.String()); return m != nil }) {
		t.Fatalf("no serving line naming the build:\n%s", log.String())
	}
	if m[2] != in.Version || m[3] != in.Revision {
		t.Errorf("serving line names version=%s revision=%s; want %s %s", m[2], m[3], in.Version, in.Revision)
	}
	code, body, err := httpCall(t, nil, m[1], "GET", "/metrics", "", "")
	if err != nil || code != 200 {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	if want := buildInfoLine(in); !strings.Contains(body, want) {
		t.Errorf("/metrics lacks %q; its tide_build_info lines:\n%s", want, grepLines(body, "tide_build_info"))
	}
}

func grepLines(text, substr string) string {
	var b strings.Builder
	for line := range strings.Lines(text) {
		if strings.Contains(line, substr) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// TestBinaryVersion builds the scaler as `make build` does, with the
// version and revision set by -ldflags -X, and checks `version`, the
// serving line and /metrics of the real process; then without -ldflags,
// where the toolchain's stamp decides.
func TestBinaryVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the scaler binary twice")
	}
	const v, pkg = "v9.9.9-test", "github.com/tide-scaler/tide/internal/version"
	head, gitErr := exec.Command("git", "rev-parse", "HEAD").Output()
	rev := strings.TrimSpace(string(head)) // "" without git: the revision comes from the stamp or is "unknown"
	dir := t.TempDir()
	bin := filepath.Join(dir, "scaler")
	build := append([]string{"build", "-ldflags", "-X " + pkg + ".version=" + v + " -X " + pkg + ".revision=" + rev, "-o", bin}, gobuild.Flags()...)
	if out, err := exec.Command("go", append(build, "../../scaler")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "tide scaler "+v+"\n") {
		t.Fatalf("scaler version: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`revision: (\S+)`).FindStringSubmatch(string(out))
	if m == nil || (gitErr == nil && m[1] != rev) {
		t.Fatalf("scaler version: want revision %s (git rev-parse HEAD):\n%s", rev, out)
	}

	// The real process: the serving line and /metrics carry the -X values.
	cmd := exec.Command(bin, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--shutdown-timeout", "2s")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	stderr := &testlog.Buffer{}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("scaler serve: %v\n%s", err, stderr.String())
		}
	}()
	checkServeBuild(t, stderr, version.Info{Version: v, Revision: m[1], GoVersion: runtime.Version()})

	// Without -ldflags: a stamped build (a plain checkout with
	// -buildvcs on) names its tag or a pseudo-version holding the
	// revision; an unstamped one (a git worktree, -buildvcs=false) "dev".
	plain := filepath.Join(dir, "scaler-plain")
	if out, err := exec.Command("go", append(append([]string{"build", "-o", plain}, gobuild.Flags()...), "../../scaler")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := exec.Command("go", "version", "-m", plain).Output()
	if err != nil {
		t.Fatal(err)
	}
	stamp := regexp.MustCompile(`vcs\.revision=(\w+)`).FindStringSubmatch(string(info))
	out, err = exec.Command(plain, "version").Output()
	first, _, _ := strings.Cut(string(out), "\n")
	switch {
	case err != nil:
		t.Fatalf("scaler version: %v", err)
	case stamp == nil && first != "tide scaler dev":
		t.Errorf("unstamped build: %q; want dev", first)
	case stamp != nil && (first == "tide scaler dev" || !strings.Contains(string(out), "revision: "+stamp[1])):
		t.Errorf("build stamped %s: version says\n%s", stamp[1], out)
	}
	t.Logf("without -ldflags: %s (stamped: %v)", first, stamp != nil)
}
