package benchmarks

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// idleAfter is when the idle figures are read: the definition of
// idle RSS is VmRSS 4 s after the process starts, with no triggers.
const idleAfter = 4 * time.Second

// BenchmarkIdleRSS builds the real binaries, cmd/scaler (lean: no
// Kubernetes client) and cmd/scaler-kube (everything serve linked before
// the split: client-go, k8s.io/api, custom-metrics-apiserver), starts
// `serve` of each with no triggers, waits for /readyz and reads
// /proc/<pid>/status 4 s after the start. It reports VmRSS and its
// file-backed (RssFile: pages of the binary) and anonymous parts in MiB,
// the binary's size in MB, and rss-x-kube, the lean VmRSS over
// scaler-kube's in the same run. It measures; it asserts no figure.
//
//	cd benchmarks && go test -run '^$' -bench IdleRSS -count 5 ./...
func BenchmarkIdleRSS(b *testing.B) {
	dir := b.TempDir()
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/scaler", "./cmd/scaler-kube")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	var kubeRSS float64
	for _, name := range []string{"scaler-kube", "scaler"} {
		bin := filepath.Join(dir, name)
		b.Run("binary="+name, func(b *testing.B) {
			var st procStatus
			for range b.N {
				var err error
				if st, err = idleStatus(bin); err != nil {
					b.Fatal(err)
				}
			}
			fi, err := os.Stat(bin)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(st.mib("VmRSS"), "VmRSS-MiB")
			b.ReportMetric(st.mib("RssFile"), "RssFile-MiB")
			b.ReportMetric(st.mib("RssAnon"), "RssAnon-MiB")
			b.ReportMetric(float64(fi.Size())/1e6, "binary-MB")
			if name == "scaler-kube" {
				kubeRSS = st.mib("VmRSS")
			} else if kubeRSS > 0 {
				b.ReportMetric(st.mib("VmRSS")/kubeRSS, "rss-x-kube")
			}
		})
	}
}

// procStatus is /proc/<pid>/status's kB fields by name.
type procStatus map[string]float64

func (s procStatus) mib(field string) float64 { return s[field] / 1024 }

// servingLine is the text log line serve writes once it listens.
var servingLine = regexp.MustCompile(`msg=serving .*http=(\S+)`)

// idleStatus runs `bin serve` on loopback ports with no triggers, waits
// for its serving line and /readyz, and reads its status idleAfter after
// the start; then it stops the process with SIGTERM and waits for it.
func idleStatus(bin string) (procStatus, error) {
	cmd := exec.Command(bin, "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--shutdown-timeout", "2s")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	httpAddr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				httpAddr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var addr string
	select {
	case addr = <-httpAddr:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("%s serve: no serving line in 30 s", bin)
	}
	if err := waitReady("http://" + addr + "/readyz"); err != nil {
		return nil, err
	}
	// The figure is defined at idleAfter from the start, not at an event.
	<-time.After(time.Until(start.Add(idleAfter)))
	return readStatus(cmd.Process.Pid)
}

// waitReady polls url until it answers 200, for up to 10 s.
func waitReady(url string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready in 10 s (last: %v)", url, err)
		}
		<-time.After(20 * time.Millisecond)
	}
}

// readStatus reads the kB fields of /proc/pid/status.
func readStatus(pid int) (procStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	st := procStatus{}
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(line, ":")
		f := strings.Fields(v)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if n, err := strconv.ParseFloat(f[0], 64); err == nil {
			st[k] = n
		}
	}
	if st["VmRSS"] == 0 {
		return nil, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return st, nil
}
