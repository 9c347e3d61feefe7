package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tide-scaler/tide/internal/gobuild"
)

// buildScaler builds cmd/scaler of the repository at root. The binary goes
// to a stable path in the user's cache directory (dir if there is none), so
// that go build finds it up to date and skips linking when nothing changed.
func buildScaler(ctx context.Context, root, dir string) (string, error) {
	out := dir
	if cache, err := os.UserCacheDir(); err == nil {
		if err := os.MkdirAll(filepath.Join(cache, "tide-load"), 0o755); err == nil {
			out = filepath.Join(cache, "tide-load")
		}
	}
	bin := filepath.Join(out, "scaler")
	// A race-enabled test of the harness runs a race-enabled scaler (and
	// shares its compiled packages); `make load` measures a plain build.
	cmd := exec.CommandContext(ctx, "go", append(append([]string{"build", "-o", bin}, gobuild.Flags()...), "./cmd/scaler")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/scaler in %s: %w\n%s", root, err, out)
	}
	return bin, nil
}

// scaler is a running `scaler serve`.
type scaler struct {
	cmd                *exec.Cmd
	grpcAddr, httpAddr string
	logPath            string
	done               chan struct{} // closed when the process has exited
	state              *os.ProcessState
	exited             time.Time
}

// startScaler runs `scaler serve` with args on free loopback ports, in its
// own process group and killed with this process (Pdeathsig), and returns
// once it logs that it is serving. Its log goes to dir/scaler.log.
func startScaler(bin, dir string, args []string) (*scaler, error) {
	logPath := filepath.Join(dir, "scaler.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	args = append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "info"}, args...)
	cmd := exec.Command(bin, args...)
	for _, kv := range os.Environ() { // flags only: no TIDE_* from this environment
		if !strings.HasPrefix(kv, "TIDE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &scaler{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	serving := make(chan [2]string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer logf.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logf.Write(append(line, '\n')) //nolint:errcheck // the log is for humans
			var rec struct{ Msg, GRPC, HTTP string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "serving" {
				select {
				case serving <- [2]string{rec.GRPC, rec.HTTP}:
				default:
				}
			}
		}
		io.Copy(logf, stderr) //nolint:errcheck // drain what a long line left
	}()
	go func() {
		<-copied   // Wait closes the pipe: read it all first
		cmd.Wait() //nolint:errcheck // the state says how it ended
		s.state, s.exited = cmd.ProcessState, time.Now()
		close(s.done)
	}()
	select {
	case a := <-serving:
		s.grpcAddr, s.httpAddr = a[0], a[1]
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("scaler exited before serving: %v (log: %s)", s.state, logPath)
	case <-time.After(60 * time.Second):
		s.kill()
		return nil, fmt.Errorf("scaler not serving within 60 s (log: %s)", logPath)
	}
}

// kill ends the whole process group and waits for the scaler.
func (s *scaler) kill() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // already gone is fine
	<-s.done
}

// rssBytes is the scaler's resident set size (VmRSS).
func (s *scaler) rssBytes() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", s.cmd.Process.Pid)
}

// families is one scrape of the scaler's /metrics.
type families map[string]*dto.MetricFamily

func (s *scaler) scrape(ctx context.Context) (families, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain") // the text format, whatever the server prefers
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(resp.Body)
}

// value is the sum of a gauge's or counter's series whose labels include
// want (name, value pairs).
func (f families) value(name string, want ...string) float64 {
	sum := 0.0
	if mf := f[name]; mf != nil {
		for _, m := range mf.GetMetric() {
			if hasLabels(m, want) {
				sum += m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			}
		}
	}
	return sum
}

func hasLabels(m *dto.Metric, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == want[i] && lp.GetValue() == want[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// reading is the scaler's state at one moment of the run.
type reading struct {
	rss        int64
	heap       float64 // go_memstats_heap_inuse_bytes
	gcGoal     float64 // go_memstats_next_gc_bytes
	goroutines float64
	triggers   float64
	streams    float64 // open StreamIsActive streams, as the scaler counts them
	metrics    families
}

func (s *scaler) read(ctx context.Context) (reading, error) {
	rss, err := s.rssBytes()
	if err != nil {
		return reading{}, err
	}
	f, err := s.scrape(ctx)
	if err != nil {
		return reading{}, fmt.Errorf("scrape /metrics: %w", err)
	}
	return reading{rss: rss, heap: f.value("go_memstats_heap_inuse_bytes"), gcGoal: f.value("go_memstats_next_gc_bytes"), goroutines: f.value("go_goroutines"), triggers: f.value("tide_triggers"),
		streams: f.value("tide_open_streams", "method", "StreamIsActive"), metrics: f}, nil
}
