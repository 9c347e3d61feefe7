package inference

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testpki"
)

// newTokenPod serves a fake vLLM pod that answers 401 without the bearer
// token, over mTLS when serverTLS is set.
func newTokenPod(t *testing.T, token string, serverTLS *tls.Config) (*fakePod, string) {
	t.Helper()
	p := &fakePod{st: podState{waiting: 4}}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized: got "+r.Header.Get("Authorization"), http.StatusUnauthorized)
			return
		}
		p.serve(w, r)
	}))
	srv.Config.ErrorLog = quietLog
	if serverTLS != nil {
		srv.TLS = serverTLS
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	p.srv = srv
	return p, srv.URL + "/metrics"
}

// TestScrapeAuth scrapes pods that demand a bearer token, over plain HTTP
// and over mTLS: the right token and certificate read the pod, anything
// else is an error naming the target, never a zero and never the secret.
func TestScrapeAuth(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	const token = "scrape-" + authMarker
	mtls := pki.ServerTLS(t)
	mtls.ClientAuth, mtls.ClientCAs = tls.RequireAndVerifyClientCert, pki.Pool()
	_, plainURL := newTokenPod(t, token, nil)
	_, mtlsURL := newTokenPod(t, token, mtls)
	tlsKeys := []string{"authModes", "tls,bearer", "bearerToken", token, "ca", pki.CA, "cert", pki.ClientCert, "key", pki.ClientKey}
	tests := []struct {
		name   string
		target string
		kv     []string
		err    string // "" = 4 waiting
	}{
		{"bearer", plainURL, []string{"authModes", "bearer", "bearerTokenFromEnv", token}, ""},
		{"bearer, wrong token", plainURL, []string{"authModes", "bearer", "bearerToken", "wrong-" + authMarker}, "HTTP 401"},
		{"no token", plainURL, nil, "HTTP 401"},
		{"mTLS and bearer", mtlsURL, tlsKeys, ""},
		{"mTLS, wrong token", mtlsURL, append(append([]string{}, tlsKeys...), "bearerToken", "wrong-"+authMarker), "HTTP 401"},
		{"mTLS, certificate of another CA", mtlsURL, []string{"authModes", "bearer,tls", "bearerToken", token, "ca", pki.CA,
			"cert", other.ClientCert, "key", other.ClientKey}, "tls:"},
		{"ca without a client certificate", mtlsURL, []string{"authModes", "bearer", "bearerToken", token, "ca", pki.CA}, "tls:"},
		{"no ca", mtlsURL, []string{"authModes", "bearer", "bearerToken", token}, "certificate signed by unknown authority"},
	}
	secrets := append([]string{authMarker}, keyMaterial(pki.ClientKey, other.ClientKey)...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := scrapeMD(tt.target, append([]string{"targetRequestRate", "", "targetWaiting", "1"}, tt.kv...)...)
			p := newPoller(t, parseOK(t, md, Env{}))
			s, err := p.poll(time.Second)
			if tt.err == "" {
				if w, ok := part(s, "signal/waiting"); err != nil || !ok || w.Value != 4 {
					t.Fatalf("sample %+v, err %v; want 4 waiting", s, err)
				}
				return
			}
			t.Logf("error: %v", err)
			if err == nil || !strings.Contains(err.Error(), tt.target) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("sample %+v, err %v; want an error naming %s and saying %q", s, err, tt.target, tt.err)
			}
			for _, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes a secret: %v", err)
				}
			}
		})
	}
}
