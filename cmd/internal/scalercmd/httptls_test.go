package scalercmd

import (
	"context"
	"crypto/tls"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/pkg/server"
)

// startServe parses args as `scaler serve` does and runs serve on loopback
// ports until the test ends. It returns the bound server.
func startServe(t *testing.T, args ...string) *server.Server {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cfg serveConfig
	cfg.register(fs)
	args = append([]string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--shutdown-timeout", "2s"}, args...)
	if err := cli.ParseFlags(fs, args, env(nil), io.Discard, ""); err != nil {
		t.Fatal(err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *server.Server, 1)
	done := make(chan error, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() { done <- serve(ctx, cfg, log, func(s *server.Server) { started <- s }, kubeBuild()) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	select {
	case s := <-started:
		return s
	case err := <-done:
		t.Fatalf("serve exited before listening: %v", err)
	}
	return nil
}

// httpCall is one request on a fresh connection: with tc nil over plain
// HTTP, else over TLS with tc.
func httpCall(t *testing.T, tc *tls.Config, addr, method, path, auth, body string) (int, string, error) {
	t.Helper()
	scheme := "https://"
	if tc == nil {
		scheme = "http://"
	}
	req, err := http.NewRequest(method, scheme+addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	tr := &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

const pushBody = `{"model":"m","count":1}`

// TestHTTPMutualTLS serves /metrics, /status and /v1/push with --http-tls-cert,
// --http-tls-key and --http-tls-client-ca: plain HTTP, a client without a
// certificate and one with a certificate from another CA never reach a
// handler; a client with a certificate from the CA reads /metrics and may
// push, and the push still needs its bearer token.
func TestHTTPMutualTLS(t *testing.T) {
	pki := testpki.New(t)
	tokenFile := filepath.Join(t.TempDir(), "push-token")
	const token = "push-token-5e1f"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, "--http-tls-cert", pki.ServerCertFile, "--http-tls-key", pki.ServerKeyFile,
		"--http-tls-client-ca", pki.CAFile, "--push-token-file", tokenFile)
	addr := srv.HTTPAddr()

	t.Run("plain HTTP is refused", func(t *testing.T) {
		if code, body, err := httpCall(t, nil, addr, "GET", "/metrics", "", ""); err == nil && (code == http.StatusOK || strings.Contains(body, "go_goroutines")) {
			t.Errorf("plain GET /metrics: %d %.80q; want no metrics", code, body)
		}
		if code, body, err := httpCall(t, nil, addr, "GET", "/status", "", ""); err == nil && (code == http.StatusOK || strings.Contains(body, "Tide status")) {
			t.Errorf("plain GET /status: %d %.80q; want no status page", code, body)
		}
		if code, body, err := httpCall(t, nil, addr, "POST", "/v1/push", "Bearer "+token, pushBody); err == nil && code == http.StatusNoContent {
			t.Errorf("plain POST /v1/push with the token: %d %q; want it refused", code, body)
		}
	})
	rejected := map[string]*tls.Config{
		"no client certificate": {RootCAs: pki.Pool(), MinVersion: tls.VersionTLS12},
		"certificate from another CA": {RootCAs: pki.Pool(), MinVersion: tls.VersionTLS12,
			Certificates: []tls.Certificate{testpki.New(t).ClientPair(t)}},
	}
	for name, tc := range rejected {
		t.Run(name+" is rejected", func(t *testing.T) {
			for _, tls12 := range []bool{false, true} { // TLS 1.3 rejects after the handshake, 1.2 during it
				tc := tc.Clone()
				if tls12 {
					tc.MaxVersion = tls.VersionTLS12
				}
				for _, path := range []string{"/metrics", "/status"} {
					if code, body, err := httpCall(t, tc, addr, "GET", path, "", ""); err == nil {
						t.Errorf("TLS 1.2 only %t: GET %s answered %d %.80q; want the handshake to fail", tls12, path, code, body)
					}
				}
				if code, _, err := httpCall(t, tc, addr, "POST", "/v1/push", "Bearer "+token, pushBody); err == nil {
					t.Errorf("TLS 1.2 only %t: POST /v1/push with the token answered %d; want the handshake to fail", tls12, code)
				}
			}
		})
	}
	t.Run("client with a certificate from the CA", func(t *testing.T) {
		tc := pki.ClientTLS(t)
		if code, body, err := httpCall(t, tc, addr, "GET", "/metrics", "", ""); err != nil || code != http.StatusOK || !strings.Contains(body, "go_goroutines") {
			t.Errorf("GET /metrics: %d %.80q %v; want 200 with metrics", code, body, err)
		}
		if code, body, err := httpCall(t, tc, addr, "GET", "/status", "", ""); err != nil || code != http.StatusOK || !strings.Contains(body, "Tide status") {
			t.Errorf("GET /status: %d %.80q %v; want 200 with the status page", code, body, err)
		}
		if code, body, err := httpCall(t, tc, addr, "GET", "/healthz", "", ""); err != nil || code != http.StatusOK {
			t.Errorf("GET /healthz: %d %q %v; want 200", code, body, err)
		}
		if code, body, err := httpCall(t, tc, addr, "POST", "/v1/push", "", pushBody); err != nil || code != http.StatusUnauthorized {
			t.Errorf("POST /v1/push without the token: %d %q %v; want 401", code, body, err)
		}
		if code, body, err := httpCall(t, tc, addr, "POST", "/v1/push", "Bearer wrong", pushBody); err != nil || code != http.StatusUnauthorized {
			t.Errorf("POST /v1/push with a wrong token: %d %q %v; want 401", code, body, err)
		}
		if code, body, err := httpCall(t, tc, addr, "POST", "/v1/push", "Bearer "+token, pushBody); err != nil || code != http.StatusNoContent {
			t.Errorf("POST /v1/push with the token: %d %q %v; want 204", code, body, err)
		}
	})
}

// TestHTTPTLSRotation serves the HTTP endpoints over TLS without client
// certificates, refuses plain HTTP, and serves a new key pair written over
// the files without a restart.
func TestHTTPTLSRotation(t *testing.T) {
	old, next := testpki.New(t), testpki.New(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write := func(p *testpki.PKI, stamp time.Time) {
		for path, content := range map[string]string{certFile: p.ServerCert, keyFile: p.ServerKey} {
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			// An explicit mtime: the reload must not hang on the file
			// system's timestamp granularity.
			if err := os.Chtimes(path, stamp, stamp); err != nil {
				t.Fatal(err)
			}
		}
	}
	base := time.Now().Add(-time.Hour)
	write(old, base)
	addr := startServe(t, "--http-tls-cert", certFile, "--http-tls-key", keyFile).HTTPAddr()

	trusting := func(p *testpki.PKI) *tls.Config { return &tls.Config{RootCAs: p.Pool(), MinVersion: tls.VersionTLS12} }
	if code, body, err := httpCall(t, nil, addr, "GET", "/healthz", "", ""); err == nil && code == http.StatusOK {
		t.Errorf("plain GET /healthz: %d %q; want it refused", code, body)
	}
	if code, _, err := httpCall(t, trusting(old), addr, "GET", "/healthz", "", ""); err != nil || code != http.StatusOK {
		t.Fatalf("GET /healthz without a client certificate: %d %v; want 200", code, err)
	}
	write(next, base.Add(time.Minute))
	if code, _, err := httpCall(t, trusting(next), addr, "GET", "/healthz", "", ""); err != nil || code != http.StatusOK {
		t.Errorf("after rotation, a client trusting the new CA: %d %v; want 200", code, err)
	}
	if _, _, err := httpCall(t, trusting(old), addr, "GET", "/healthz", "", ""); err == nil {
		t.Error("after rotation, the old certificate is still served")
	}
}

// TestHTTPTLSFlagErrors: every bad --http-tls-* setting stops serve before
// it listens, with an error naming the flag and never quoting key material.
func TestHTTPTLSFlagErrors(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"cert without key", []string{"--http-tls-cert", pki.ServerCertFile}, "--http-tls-key"},
		{"key without cert", []string{"--http-tls-key", pki.ServerKeyFile}, "--http-tls-cert"},
		{"client CA alone", []string{"--http-tls-client-ca", pki.CAFile}, "--http-tls-cert"},
		{"missing cert", []string{"--http-tls-cert", missing, "--http-tls-key", pki.ServerKeyFile}, "--http-tls-cert: open " + missing},
		{"missing key", []string{"--http-tls-cert", pki.ServerCertFile, "--http-tls-key", missing}, "--http-tls-key: open " + missing},
		{"missing client CA", []string{"--http-tls-cert", pki.ServerCertFile, "--http-tls-key", pki.ServerKeyFile, "--http-tls-client-ca", missing}, "--http-tls-client-ca: open " + missing},
		{"key of another pair", []string{"--http-tls-cert", pki.ServerCertFile, "--http-tls-key", other.ServerKeyFile}, "--http-tls-key"},
		{"key file as cert", []string{"--http-tls-cert", pki.ServerKeyFile, "--http-tls-key", pki.ServerKeyFile}, "--http-tls-cert"},
		{"key file as client CA", []string{"--http-tls-cert", pki.ServerCertFile, "--http-tls-key", pki.ServerKeyFile, "--http-tls-client-ca", pki.ServerKeyFile}, "--http-tls-client-ca " + pki.ServerKeyFile + " holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, tc.args...)
			var stderr testlog.Buffer
			err := run(context.Background(), args, env(nil), io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tc.want)
			}
			for _, key := range []string{pki.ServerKey, other.ServerKey} {
				body := strings.Split(strings.TrimSpace(key), "\n")[1] // a line of the key's base64
				if strings.Contains(err.Error()+stderr.String(), body) {
					t.Errorf("private key material in the error or log: %v\n%s", err, stderr.String())
				}
			}
		})
	}
	// The environment sets them too.
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serveConfig
	cfg.register(fs)
	if err := cli.ParseFlags(fs, nil, env(map[string]string{"TIDE_HTTP_TLS_CERT": "/c", "TIDE_HTTP_TLS_KEY": "/k", "TIDE_HTTP_TLS_CLIENT_CA": "/ca"}), io.Discard, ""); err != nil {
		t.Fatal(err)
	}
	if f := cfg.httpTLS.files; f != (server.TLSFiles{Cert: "/c", Key: "/k", ClientCA: "/ca"}) {
		t.Errorf("from the environment: %+v", f)
	}
}
