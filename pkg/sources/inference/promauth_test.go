package inference

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// authProxy stands in front of a real Prometheus as a managed one does: a
// request that fails check gets 401, with a body that repeats what the
// request sent (a verbose upstream must not make us leak it); the rest is
// proxied.
type authProxy struct {
	srv  *httptest.Server
	hits atomic.Int64
}

// newAuthProxy starts the proxy: plain HTTP when serverTLS is nil.
func newAuthProxy(t *testing.T, prom string, serverTLS *tls.Config, check func(*http.Request) error) *authProxy {
	t.Helper()
	target, err := url.Parse(prom)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &authProxy{}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		if err := check(r); err != nil {
			http.Error(w, fmt.Sprintf("unauthorized: %v (Authorization %q, URL %s)", err, r.Header.Get("Authorization"), r.URL), http.StatusUnauthorized)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	p.srv.Config.ErrorLog = quietLog
	if serverTLS != nil {
		p.srv.TLS = serverTLS
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(p.srv.Close)
	return p
}

// quietLog drops the test servers' logs of refused handshakes, which are
// the point of some cases.
var quietLog = log.New(io.Discard, "", 0)

// header checks that every name has its value.
func header(kv ...string) func(*http.Request) error {
	return func(r *http.Request) error {
		for i := 0; i+1 < len(kv); i += 2 {
			if got := r.Header.Get(kv[i]); got != kv[i+1] {
				return fmt.Errorf("header %s is %q", kv[i], got)
			}
		}
		return nil
	}
}

// readThroughEngine reads tr's query as GetMetrics does.
func readThroughEngine(t *testing.T, e *sources.Engine, tr *Trigger) (sources.Sample, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return e.Read(ctx, tr.Query())
}

// TestPrometheusAuth queries a real Prometheus through proxies that demand
// each of KEDA's auth modes. Every case reads through one engine, so two
// triggers on the same proxy that differ only in their credential would
// share a client, and one answer, if the upstream key ignored it.
func TestPrometheusAuth(t *testing.T) {
	pod := newFakePod(t, podState{waiting: 3})
	prom := startPrometheus(t, pod)
	pki, other := testpki.New(t), testpki.New(t)
	const (
		token    = "tok-" + authMarker
		password = "pw-" + authMarker
		apiKey   = "key-" + authMarker
	)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mtls := pki.ServerTLS(t)
	mtls.ClientAuth, mtls.ClientCAs = tls.RequireAndVerifyClientCert, pki.Pool()

	bearer := newAuthProxy(t, prom, nil, header("Authorization", "Bearer "+token))
	basic := newAuthProxy(t, prom, nil, func(r *http.Request) error {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != password {
			return errors.New("bad basic auth")
		}
		return nil
	})
	custom := newAuthProxy(t, prom, nil, header("X-Api-Key", apiKey))
	headers := newAuthProxy(t, prom, nil, header("X-Scope-OrgID", "tenant-a", "X-Team", "ml"))
	params := newAuthProxy(t, prom, nil, func(r *http.Request) error {
		if q := r.URL.Query(); q.Get("tenant") != "a b" || q.Get("region") != "eu=1" {
			return fmt.Errorf("query parameters %v", q)
		}
		return nil
	})
	clientCert := newAuthProxy(t, prom, mtls, func(r *http.Request) error {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return errors.New("no client certificate")
		}
		return nil
	})
	caBearer := newAuthProxy(t, prom, pki.ServerTLS(t), header("Authorization", "Bearer "+token))

	e := sources.NewEngine(sources.Options{FirstSampleTimeout: 10 * time.Second, Metrics: metrics.New(prometheus.NewRegistry()),
		Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { e.Close() })
	const query = "sum(vllm:num_requests_waiting)"
	tlsKeys := []string{"authModes", "tls", "ca", pki.CA, "cert", pki.ClientCert, "key", pki.ClientKey}
	tests := []struct {
		name  string
		proxy *authProxy
		kv    []string
		err   string // "" = the value 3
	}{
		{"bearer", bearer, []string{"authModes", "bearer", "bearerToken", token}, ""},
		{"bearer, token from a file", bearer, []string{"authModes", "bearer", "bearerTokenFile", tokenFile}, ""},
		{"bearer, wrong token", bearer, []string{"authModes", "bearer", "bearerToken", "wrong-" + authMarker}, "401 (the server refused the credentials of authModes bearer)"},
		{"bearer, no credentials", bearer, nil, "401 (the server wants credentials, and authModes is not set)"},
		{"basic", basic, []string{"authModes", "basic", "username", "alice", "passwordFromEnv", password}, ""},
		{"basic, wrong password", basic, []string{"authModes", "basic", "username", "alice", "password", "wrong-" + authMarker}, "401"},
		{"custom", custom, []string{"authModes", "custom", "customAuthHeader", "X-Api-Key", "customAuthValue", apiKey}, ""},
		{"custom, wrong value", custom, []string{"authModes", "custom", "customAuthHeader", "X-Api-Key", "customAuthValue", "wrong-" + authMarker}, "401"},
		{"customHeaders", headers, []string{"customHeaders", "X-Scope-OrgID=tenant-a, X-Team=ml"}, ""},
		{"customHeaders, other tenant", headers, []string{"customHeaders", "X-Scope-OrgID=tenant-b,X-Team=ml"}, "401"},
		{"queryParameters", params, []string{"queryParameters", "tenant=a b,region=eu=1"}, ""},
		{"queryParameters, one missing", params, []string{"queryParameters", "tenant=a b"}, "401"},
		{"tls", clientCert, tlsKeys, ""},
		{"tls, certificate of another CA", clientCert, []string{"authModes", "tls", "ca", pki.CA, "cert", other.ClientCert, "key", other.ClientKey}, "tls:"},
		{"ca without a client certificate", clientCert, []string{"ca", pki.CA}, "tls:"},
		{"no ca", caBearer, []string{"authModes", "bearer", "bearerToken", token}, "certificate signed by unknown authority"},
		{"ca and bearer", caBearer, []string{"authModes", "bearer", "bearerToken", token, "caFile", pki.CAFile}, ""},
		{"ca and wrong bearer", caBearer, []string{"authModes", "bearer", "bearerToken", "wrong-" + authMarker, "ca", pki.CA}, "401"},
	}
	secrets := append([]string{authMarker}, keyMaterial(pki.ClientKey, other.ClientKey)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := parseOK(t, promMD(tt.proxy.srv.URL, query, tt.kv...), Env{})
			hits := tt.proxy.hits.Load()
			s, err := readThroughEngine(t, e, tr)
			if tt.err == "" {
				if err != nil || s.Value != 3 {
					t.Fatalf("sample %+v, err %v; want 3", s, err)
				}
				return
			}
			t.Logf("error: %v", err)
			name := tr.Query().Upstream().Name
			if err == nil || !errors.Is(err, sources.ErrUnavailable) || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("sample %+v, err %v; want an Unavailable error naming %s and saying %q", s, err, name, tt.err)
			}
			if strings.Contains(tt.err, "401") && tt.proxy.hits.Load() == hits {
				t.Error("the proxy saw no request: the error is not its refusal")
			}
			for _, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes a secret: %v", err)
				}
			}
		})
	}
}
