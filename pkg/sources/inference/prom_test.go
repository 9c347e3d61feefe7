package inference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// startPrometheus runs Debian's prometheus on a free loopback port,
// scraping the given pods every second, and returns its address once it
// has scraped them all. It stops the server in t.Cleanup.
func startPrometheus(t *testing.T, pods ...*fakePod) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Fatal("the prometheus binary is not installed: run scripts/deps.sh (Debian package prometheus)")
	}
	var targets []string
	for _, p := range pods {
		targets = append(targets, fmt.Sprintf("%q", strings.TrimPrefix(p.srv.URL, "http://")))
	}
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 800ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: vllm
    static_configs:
      - targets: [%s]
`, strings.Join(targets, ", "))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	base := "http://" + addr
	waitFor(t, "prometheus to become ready", 30*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	const want = `"value":[`
	waitFor(t, "prometheus to scrape every fake pod", 30*time.Second, func() bool {
		resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(fmt.Sprintf(`count(up{job="vllm"} == 1) == %d`, len(pods))))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return strings.Contains(b.String(), want)
	})
	return base
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func promMD(server, query string, kv ...string) metadata.Metadata {
	md := metadata.Metadata{"source": "inference", "mode": "prometheus", "serverAddress": server, "query": query, "threshold": "5"}
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = kv[i+1]
	}
	return md
}

// promPoll runs one instant query at the current time (the data in the
// real Prometheus is real-time).
func promPoll(t *testing.T, tr *Trigger) (sources.Sample, error) {
	t.Helper()
	up, err := tr.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := up.Poll(ctx, time.Now(), []sources.Query{tr.Query()})
	return r[0].Sample, r[0].Err
}

// TestPrometheusMode runs KEDA-style instant queries against a real
// Prometheus that scrapes fake vLLM pods every second.
func TestPrometheusMode(t *testing.T) {
	a := newFakePod(t, podState{waiting: 3, model: "llama"})
	b := newFakePod(t, podState{waiting: 4, model: "llama", openMetrics: true})
	server := startPrometheus(t, a, b)

	sum := parseOK(t, promMD(server, `sum(vllm:num_requests_waiting{model_name="llama"})`), Env{})
	waitFor(t, "sum of waiting = 7", 20*time.Second, func() bool {
		s, err := promPoll(t, sum)
		return err == nil && s.Value == 7
	})
	a.set(func(st *podState) { st.waiting = 13 })
	waitFor(t, "sum of waiting = 17 after the pod's gauge moved", 20*time.Second, func() bool {
		s, err := promPoll(t, sum)
		return err == nil && s.Value == 17
	})
	s, _ := promPoll(t, sum)
	if m := sum.Evaluate(s); m.Value != 17 || !active(sum, s) {
		t.Errorf("Evaluate = %+v", m)
	}
	high := parseOK(t, promMD(server, `sum(vllm:num_requests_waiting{model_name="llama"})`, "activationThreshold", "100"), Env{})
	if m := high.Evaluate(s); active(high, s) {
		t.Errorf("17 is not above activationThreshold 100: %+v", m)
	}

	tests := []struct {
		name  string
		md    metadata.Metadata
		value float64
		err   string // "" = no error
		// unknown: the sample is 0 only because the answer had no number
		// (sources.Sample.Unknown).
		unknown bool
	}{
		{"several series", promMD(server, `vllm:num_requests_waiting`), 0, "returned 2 series", false},
		{"syntax error", promMD(server, `sum(vllm:num_requests_waiting`), 0, "bad_data", false},
		{"no series, ignoreNullValues default", promMD(server, `vllm:num_requests_waiting{model_name="nope"}`), 0, "", true},
		{"no series, ignoreNullValues false", promMD(server, `vllm:num_requests_waiting{model_name="nope"}`, "ignoreNullValues", "false"), 0, "no series", false},
		{"NaN", promMD(server, `0/0`), 0, "", true},
		{"NaN, ignoreNullValues false", promMD(server, `0/0`, "ignoreNullValues", "false"), 0, "NaN", false},
		{"+Inf", promMD(server, `1/0`), 0, "", true},
		{"-Inf", promMD(server, `-1/0`), 0, "", true},
		{"+Inf, ignoreNullValues false", promMD(server, `1/0`, "ignoreNullValues", "false"), 0, "+Inf", false},
		{"scalar NaN of no series", promMD(server, `scalar(vllm:num_requests_waiting{model_name="nope"})`), 0, "", true},
		{"scalar", promMD(server, `scalar(sum(vllm:num_requests_running))`), 0, "", false},
		{"a real 0 is known", promMD(server, `sum(vllm:num_requests_running)`), 0, "", false},
		{"a value is known", promMD(server, `sum(vllm:num_requests_waiting{model_name="llama"})`), 17, "", false},
		{"range vector", promMD(server, `vllm:num_requests_waiting[1m]`), 0, "want an instant vector", false},
		{"negative is 0, with a note", promMD(server, `-5`), 0, "", false},
		{"server down", promMD("http://"+freeAddr(t), `up`), 0, "connection refused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := promPoll(t, parseOK(t, tt.md, Env{}))
			if tt.err == "" {
				if err != nil || s.Value != tt.value || s.Unknown != tt.unknown {
					t.Errorf("sample %+v, err %v; want value %v, unknown %v", s, err, tt.value, tt.unknown)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), strconv.Quote(tt.md["query"])) {
				t.Errorf("err = %v; want it to name the query and say %q", err, tt.err)
			}
			if tt.name == "no series, ignoreNullValues false" && !errors.Is(err, sources.ErrNotFound) {
				t.Errorf("err %v is not ErrNotFound", err)
			}
		})
	}
}
