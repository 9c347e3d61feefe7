package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testlog"
)

// startDemo runs `tide-demo run args...` until the test ends and returns
// its stdout.
func startDemo(t *testing.T, args ...string) *testlog.Buffer {
	t.Helper()
	var out testlog.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"run"}, args...), func(string) string { return "" }, &out, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the demo did not stop")
		}
	})
	return &out
}

// await polls cond every 50 ms for up to d: waiting on the demo's servers.
func await(d time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func get(url string) (int, string) {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	statusLine  = regexp.MustCompile(`status page: (http://\S+/status)`)
	metricsLine = regexp.MustCompile(`metrics (http://\S+)/metrics`)
)

// TestDemoServesStatusPage: with --status-addr the demo says where its
// scaler's status page is and serves it while it runs, with a row and a
// chart for each trigger of its three workloads (namespace demo) once they
// are sampled; without the flag there is no page.
func TestDemoServesStatusPage(t *testing.T) {
	t.Run("with --status-addr", func(t *testing.T) {
		out := startDemo(t, "--status-addr", "127.0.0.1:0")
		var url string
		if !await(30*time.Second, func() bool {
			m := statusLine.FindStringSubmatch(out.String())
			if m != nil {
				url = m[1]
			}
			return m != nil
		}) {
			t.Fatalf("the demo never said where its status page is:\n%s", out.String())
		}
		var body string
		if !await(60*time.Second, func() bool {
			var code int
			code, body = get(url + "?namespace=demo")
			// Four triggers: the vLLM workload has a scrape and a push one.
			return code == http.StatusOK && strings.Count(body, `<tr class="trigger">`) == 4 &&
				strings.Count(body, "<svg") == 4 && !strings.Contains(body, "no sample")
		}) {
			t.Fatalf("%s never showed the four triggers of the three workloads sampled and charted:\n%s", url, body)
		}
		for _, so := range []string{"orders (kafka)", "jobs (redis)", "llama-8b (vllm)"} {
			if !strings.Contains(body, "<td>"+so+"</td>") {
				t.Errorf("the status page has no row of %s", so)
			}
		}
	})
	t.Run("without it", func(t *testing.T) {
		out := startDemo(t)
		var base string
		if !await(30*time.Second, func() bool {
			m := metricsLine.FindStringSubmatch(out.String())
			if m != nil {
				base = m[1]
			}
			return m != nil
		}) {
			t.Fatalf("the demo never said where its metrics are:\n%s", out.String())
		}
		if code, _ := get(base + "/status"); code != http.StatusNotFound {
			t.Errorf("GET %s/status without --status-addr: %d; want 404", base, code)
		}
		if strings.Contains(out.String(), "status page:") {
			t.Error("the demo names a status page without --status-addr")
		}
	})
}
