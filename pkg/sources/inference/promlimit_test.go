package inference

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestPrometheusAnswerIsBounded: a Prometheus that answers a valid result
// padded to 16 MiB is Unavailable ("larger than"), never its value; one
// just under the limit is read. client_golang reads whole bodies, so
// without the limit a hostile server sets the scaler's memory.
func TestPrometheusAnswerIsBounded(t *testing.T) {
	answer := func(pad int) string {
		return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"` +
			strings.Repeat("x", pad) + `"},"value":[1,"7"]}]}}`
	}
	for _, tc := range []struct {
		name string
		body string
		want float64 // 0: want the size error
	}{
		{"16 MiB", answer(16 << 20), 0},
		{"just under the limit", answer(maxPromResponse - 200), 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			e := sources.NewEngine(sources.Options{PollInterval: time.Minute, PollTimeout: time.Minute,
				FirstSampleTimeout: 30 * time.Second, Metrics: metrics.New(prometheus.NewRegistry()), Logger: slog.New(slog.DiscardHandler)})
			defer e.Close()
			tr := parseOK(t, metadata.Metadata{"mode": "prometheus", "serverAddress": srv.URL, "query": "q", "threshold": "1"}, Env{})
			s, err := readThroughEngine(t, e, tr)
			if tc.want == 0 {
				if !errors.Is(err, sources.ErrUnavailable) || !strings.Contains(err.Error(), "larger than 8388608 bytes") {
					t.Fatalf("Read = %v, %v; want Unavailable saying larger than 8388608 bytes", s.Value, err)
				}
				return
			}
			if err != nil || s.Value != tc.want {
				t.Fatalf("Read = %v, %v; want %v", s.Value, err, tc.want)
			}
		})
	}
}
