package server

import (
	"crypto/tls"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/internal/fdcapture"
	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
)

// A TLS handshake error on the HTTPS endpoints (a client without the
// certificate mTLS requires) is logged by net/http through the server's
// logger: a slog JSON record, nothing on fd 2.
func TestHTTPErrorLogIsSlog(t *testing.T) {
	pki := testpki.New(t)
	tc, err := TLSFiles{Cert: pki.ServerCertFile, Key: pki.ServerKeyFile, ClientCA: pki.CAFile}.Config()
	if err != nil {
		t.Fatal(err)
	}
	var buf testlog.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	eng := sources.NewEngine(sources.Options{Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	cache := trigger.NewCache(trigger.CacheConfig{Registry: builtin.Registry(builtin.Options{}), Reader: eng})
	t.Cleanup(cache.Close)

	stopStderr, err := fdcapture.Stderr()
	if err != nil {
		t.Fatalf("capture stderr: %v", err)
	}
	stderr := ""
	stopped := false
	stop := func() {
		if !stopped {
			stopped, stderr = true, stopStderr()
		}
	}
	defer stop()
	h := runServer(t, Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", HTTPTLS: tc,
		Service: ServiceConfig{Triggers: cache, Metrics: met}, Gatherer: reg, Logger: log})
	conn, err := tls.Dial("tcp", h.srv.HTTPAddr(), &tls.Config{RootCAs: pki.Pool(), ServerName: "localhost"})
	if err == nil {
		// TLS 1.3: the server refuses the missing certificate after the
		// client's side of the handshake; the alert comes on the first read.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = io.ReadAll(conn)
		conn.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("client without a certificate: %v; want the server to refuse it", err)
	}
	var recs []map[string]any
	waitFor(t, "the handshake error record", func() bool {
		recs, err = testlog.Records(buf.String())
		return err != nil || testlog.Find(recs, "http: TLS handshake error", nil) != nil
	})
	stop()
	if err != nil {
		t.Fatalf("server log is not slog JSON: %v\n%s", err, buf.String())
	}
	if r := testlog.Find(recs, "http: TLS handshake error", map[string]string{"level": "WARN"}); r == nil {
		t.Errorf("handshake error not a WARN record:\n%s", buf.String())
	}
	if strings.Contains(stderr, "TLS handshake error") {
		t.Errorf("net/http wrote the handshake error to fd 2:\n%s", stderr)
	}
}
