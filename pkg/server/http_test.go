package server

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTPEndpoints(t *testing.T) {
	h := startServer(t)
	base := "http://" + h.srv.HTTPAddr()
	waitFor(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	h.src.set("jobs", 2)
	if _, err := h.client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: ref("queue", "jobs")}); err != nil {
		t.Fatal(err)
	}
	_, body := get(t, base+"/metrics")
	for _, want := range []string{
		`tide_rpc_requests_total{code="OK",method="GetMetrics"} 1`,
		`tide_metric_value{metric="queue-jobs",namespace="ns",scaledobject="so"} 2`,
		`tide_desired_replicas{metric="queue-jobs",namespace="ns",scaledobject="so"} 1`,
		`tide_poll_duration_seconds_count{upstream="queue://test"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(body, "tide_triggers 1") {
		t.Error("/metrics lacks tide_triggers 1")
	}
	// A trigger nobody asks about any more takes its series with it.
	if n := h.srv.svc.SweepTriggers(time.Now().Add(time.Hour)); n != 0 {
		t.Errorf("%d triggers left after sweeping everything", n)
	}
	if _, body = get(t, base+"/metrics"); strings.Contains(body, `scaledobject="so"`) {
		t.Error("per-ScaledObject series survive their trigger")
	}

	h.srv.ready.Store(false) // what shutdown does first
	if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while draining = %d; want 503", code)
	}
}
