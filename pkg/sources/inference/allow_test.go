package inference

import (
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestAllowListScrapeAndPrometheus: a scrape target named "localhost" on a
// port only a CIDR allows is refused on the socket (the pod is never
// asked); with 127.0.0.0/8 allowed the same target reads its value; a
// Prometheus or target outside the list is a ConfigError naming its key.
func TestAllowListScrapeAndPrometheus(t *testing.T) {
	pod := newFakePod(t, podState{waiting: 3})
	u, err := url.Parse(pod.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	target := "http://localhost:" + port + "/metrics"
	// One engine per list: the list is process-wide in production, so
	// the upstream key does not carry it.
	engine := func() *sources.Engine {
		e := sources.NewEngine(sources.Options{FirstSampleTimeout: 5 * time.Second, Metrics: metrics.New(prometheus.NewRegistry()),
			Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(func() { e.Close() })
		return e
	}
	list := func(p ...string) *allow.List {
		l, err := allow.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	md := metadata.Metadata{"targets": target, "targetWaiting": "1"}

	refused := parseOK(t, md, Env{Policy: sources.Policy{Upstreams: list("10.0.0.0/8:" + port)}})
	if _, err := readThroughEngine(t, engine(), refused); err == nil || !strings.Contains(err.Error(), "not an upstream this scaler may connect to") {
		t.Fatalf("target resolving outside the list: %v; want the allow-list error", err)
	}
	if n := pod.hits(); n != 0 {
		t.Fatalf("the refused target was asked %d times", n)
	}
	allowed := parseOK(t, md,
		Env{Policy: sources.Policy{Upstreams: list("127.0.0.0/8:" + port)}})
	if s, err := readThroughEngine(t, engine(), allowed); err != nil || s.Value == 0 {
		t.Fatalf("allowed target: %+v, %v; want its value", s, err)
	}

	for key, bad := range map[string]metadata.Metadata{
		"targets": {"targets": "http://10.1.1.1:" + port + "/metrics", "targetWaiting": "1"},
		"serverAddress": {"mode": "prometheus", "serverAddress": "http://" + net.JoinHostPort("10.1.1.1", "9090"),
			"query": "up", "threshold": "1"},
	} {
		_, err := Parse(bad, Env{Policy: sources.Policy{Upstreams: list("127.0.0.0/8")}})
		if err == nil || !strings.Contains(err.Error(), `"`+key+`"`) || !strings.Contains(err.Error(), "10.1.1.1") {
			t.Errorf("%s outside the list: %v; want a ConfigError naming it", key, err)
		}
	}
}
