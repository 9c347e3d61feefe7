package scalercmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/tide-scaler/tide/internal/fdcapture"
	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/internal/testredis"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// secretMarker is the one credential every secret-bearing input carries: it
// must never come back out of the scaler.
const secretMarker = "MARKER-s3cr3t-7f3a9c"

// controlMarker is sent as the value of a key that is NOT a secret; invalid
// metadata errors name the key and the value, so it must come back. It
// proves the capture of each path actually sees echoed values.
const controlMarker = "CONTROL-n0ts3cr3t-4b1d"

// streams collects every captured output by name.
type streams struct {
	mu  sync.Mutex
	out map[string]*testlog.Buffer
	// keys are further secrets searched for beside the marker: lines of
	// private keys' base64, which cannot carry the marker.
	keys []string
}

func (s *streams) get(name string) *testlog.Buffer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		s.out = map[string]*testlog.Buffer{}
	}
	if s.out[name] == nil {
		s.out[name] = &testlog.Buffer{}
	}
	return s.out[name]
}

func (s *streams) printf(name, format string, args ...any) {
	fmt.Fprintf(s.get(name), format+"\n", args...)
}

// assertNoMarker fails naming every stream that holds the secret, with the
// offending lines.
func (s *streams) assertNoMarker(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	names := make([]string, 0, len(s.out))
	for n := range s.out {
		names = append(names, n)
	}
	s.mu.Unlock()
	sort.Strings(names)
	secrets := append([]string{secretMarker}, s.keys...)
	leaks := func(l string) bool {
		for _, sec := range secrets {
			if strings.Contains(l, sec) {
				return true
			}
		}
		return false
	}
	for _, n := range names {
		text := s.get(n).String()
		if !leaks(text) {
			t.Logf("stream %-28s %7d bytes, no secret", n, len(text))
			continue
		}
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if leaks(l) {
				lines = append(lines, "    "+l)
			}
		}
		t.Errorf("SECRET LEAK in stream %q (%d lines):\n%s", n, len(lines), strings.Join(lines, "\n"))
	}
}

// keyMaterial is the base64 lines of a PEM private key: any one of them
// in the output means the key leaked.
func keyMaterial(pemKey string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(pemKey), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

// waitFor polls cond every 10 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSecretsNeverLeak sends one marker secret as every credential through
// serve (all RPCs, /metrics, /v1/push, debug logs), explain and the binary
// as a process with JSON logs (secretServeProcess), and checks the marker
// appears in none of what comes back.
func TestSecretsNeverLeak(t *testing.T) {
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	tokenFile := filepath.Join(dir, "push-token")
	for _, p := range []string{passwordFile, tokenFile} {
		if err := os.WriteFile(p, []byte(secretMarker+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	markerKeyFile := filepath.Join(dir, "marker-key.pem")
	if err := os.WriteFile(markerKeyFile, []byte(markerPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	const otherPass = "other-pass-0d9e"
	rs := testredis.Start(t, testredis.Config{Args: []string{"--requirepass", otherPass}, Password: otherPass})
	sn := testredis.StartSentinel(t, rs, testredis.SentinelConfig{Master: "mymaster", MasterPassword: otherPass, Password: otherPass})
	// pki serves and authenticates serve's gRPC and HTTP and is the TLS
	// material of triggers; other's key is a mismatched one.
	pki, other := testpki.New(t), testpki.New(t)
	// A Prometheus that refuses every query and repeats the credentials it
	// got in its answer, as a verbose gateway might.
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("unauthorized: Authorization=%q X-Auth=%q", r.Header.Get("Authorization"), r.Header.Get("X-Auth")),
			http.StatusUnauthorized)
	}))
	defer prom.Close()
	triggers := append(secretTriggers(t, rs.Addr, passwordFile),
		moreSecretTriggers(sn.Addr, otherPass, markerKeyFile, passwordFile, prom.URL, pki, other)...)
	sort.Slice(triggers, func(i, j int) bool { return triggers[i].name < triggers[j].name })

	// Positive control on the inputs: the marker really is in what we send.
	var sent strings.Builder
	for _, tr := range triggers {
		fmt.Fprintf(&sent, "%v\n", tr.md)
	}
	if b, _ := os.ReadFile(passwordFile); !strings.Contains(sent.String()+string(b), secretMarker) {
		t.Fatal("control: the marker is not in the inputs; the test would prove nothing")
	}

	// Libraries may log on their own (go-redis, klog and net/http write to
	// the process's stderr unless routed into slog): capture fd 2 too.
	var out streams
	for _, k := range []string{pki.ServerKey, pki.ClientKey, other.ClientKey} {
		out.keys = append(out.keys, keyMaterial(k)...)
	}
	// Basic auth sends the marker base64-encoded: search for that too.
	out.keys = append(out.keys, base64.StdEncoding.EncodeToString([]byte("alice:"+secretMarker)))
	// Positive control on the key search: the client key's lines are in
	// what the TLS triggers send.
	if lines := keyMaterial(pki.ClientKey); len(lines) < 2 || !strings.Contains(sent.String(), lines[1]) {
		t.Fatal("control: the client key's base64 is not in the inputs; the key search would prove nothing")
	}
	stopStderr, err := fdcapture.Stderr()
	if err != nil {
		t.Fatalf("capture stderr: %v", err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			out.get("process fd 2 (library loggers)").Write([]byte(stopStderr()))
		}
	}
	defer stop()
	// The ...File keys read files in these directories only.
	secretDirs := dir + "," + filepath.Dir(pki.ClientKeyFile)
	t.Run("serve", func(t *testing.T) { secretServe(t, &out, triggers, tokenFile, secretDirs, pki) })
	t.Run("explain", func(t *testing.T) { secretExplain(t, &out, triggers, secretDirs) })
	t.Run("serve-process-json", func(t *testing.T) { secretServeProcess(t, &out, triggers, secretDirs, pki) })
	checkFD2(t, &out, stop)
	// Positive controls on the new paths: the sentinel refused the marker
	// as its password, and the credential-bearing URLs were rejected by an
	// error naming their key.
	for stream, want := range map[string]string{
		"grpc/redis-sentinel-wrongpass-sentinelPassword":        "WRONGPASS",
		"grpc/redis-sentinel-wrongpass-sentinelPasswordFromEnv": "WRONGPASS",
		// The ...File variants were read (under --secret-dirs) and sent.
		"grpc/redis-wrongpass-passwordFile":     "WRONGPASS",
		"grpc/inference-prom-url-credentials":   `metadata key "serverAddress"`,
		"grpc/inference-scrape-url-credentials": `metadata key "targets"`,
		// KEDA's Prometheus auth keys reach the server, which refuses them;
		// bad auth metadata is refused by key and value.
		"grpc/inference-prom-keda-auth-bearer-custom-inline":  "client error: 401",
		"grpc/inference-prom-keda-auth-bearer-custom-FromEnv": "client error: 401",
		"grpc/inference-prom-keda-auth-bearer-custom-File":    "client error: 401",
		"grpc/inference-prom-keda-auth-basic-inline":          "client error: 401",
		"grpc/inference-prom-keda-auth-basic-FromEnv":         "client error: 401",
		"grpc/inference-prom-keda-auth-basic-File":            "client error: 401",
		"grpc/inference-prom-keda-auth-bearer-and-basic":      `metadata key "authModes": bad value "bearer,basic"`,
		"grpc/inference-prom-keda-auth-token-with-CRLF":       `metadata key "bearerToken": holds a control character`,
		// The status page shows the failing triggers' errors.
		"http/status /status?namespace=secrets (unescaped)": "WRONGPASS",
	} {
		if !strings.Contains(out.get(stream).String(), want) {
			t.Errorf("control: stream %s does not mention %q:\n%s", stream, want, out.get(stream).String())
		}
	}
	out.assertNoMarker(t)
	if t.Failed() {
		t.Log("a stream above holds the marker secret: a credential leaks; see the lines quoted")
	}
}

var servingLine = regexp.MustCompile(`msg=serving grpc=(\S+) http=(\S+)`)

func secretServe(t *testing.T, out *streams, triggers []secretTrigger, tokenFile, secretDirs string, pki *testpki.PKI) {
	ctx, cancel := context.WithCancel(context.Background())
	stderr, stdout := out.get("serve/stderr (debug log)"), out.get("serve/stdout")
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--log-level", "debug", "--push-token-file", tokenFile, "--poll-interval", "200ms",
			"--first-sample-timeout", "1s", "--stream-repeat", "200ms", "--shutdown-timeout", "2s", "--secret-dirs", secretDirs,
			// Both listeners serve mTLS from key files whose contents must
			// never be logged.
			"--tls-cert", pki.ServerCertFile, "--tls-key", pki.ServerKeyFile, "--tls-client-ca", pki.CAFile,
			"--http-tls-cert", pki.ServerCertFile, "--http-tls-key", pki.ServerKeyFile, "--http-tls-client-ca", pki.CAFile},
			env(nil), stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			out.printf("serve/return", "%v", err)
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	var grpcAddr, httpAddr string
	if !waitFor(10*time.Second, func() bool {
		m := servingLine.FindStringSubmatch(stderr.String())
		if m != nil {
			grpcAddr, httpAddr = m[1], m[2]
		}
		return m != nil
	}) {
		select {
		case err := <-done:
			t.Fatalf("serve exited: %v\n%s", err, stderr.String())
		default:
		}
		t.Fatalf("serve never logged its addresses:\n%s", stderr.String())
	}

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(pki.ClientTLS(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewExternalScalerClient(conn)

	var wg sync.WaitGroup
	for _, tr := range triggers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secretRPCs(t, out, client, tr, stderr)
		}()
	}
	wg.Wait()

	// HTTP: /metrics (labels), /healthz, /readyz and the push endpoint.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.ClientTLS(t)}}
	do := func(name, method, path, auth, body string) (int, string) {
		req, err := http.NewRequest(method, "https://"+httpAddr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			out.printf("http/"+name, "error: %v", err)
			t.Errorf("%s: %v", name, err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var hdr bytes.Buffer
		_ = resp.Header.Write(&hdr)
		out.printf("http/"+name, "%s\n%s\n%s", resp.Status, hdr.String(), b)
		return resp.StatusCode, string(b)
	}
	if code, body := do("push-wrong-token", "POST", "/v1/push", "Bearer not-the-token", `{"model":"m","count":1}`); code != http.StatusUnauthorized {
		t.Errorf("push with a wrong token: %d %q; want 401", code, body)
	}
	if code, body := do("push-marker-as-basic", "POST", "/v1/push", "Basic "+secretMarker, `{"model":"m","count":1}`); code != http.StatusUnauthorized {
		t.Errorf("push with Basic auth: %d %q; want 401", code, body)
	}
	if code, body := do("push-right-token", "POST", "/v1/push", "Bearer "+secretMarker, `{"model":"m","count":1}`); code != http.StatusNoContent {
		t.Errorf("push with the token: %d %q; want 204", code, body)
	}
	if code, body := do("push-right-token-bad-body", "POST", "/v1/push", "Bearer "+secretMarker, `{"model":"m","count":"x","extra":1}`); code != http.StatusBadRequest {
		t.Errorf("push with a bad body: %d %q; want 400", code, body)
	}
	do("healthz", "GET", "/healthz", "", "")
	do("readyz", "GET", "/readyz", "", "")
	if code, body := do("metrics", "GET", "/metrics", "", ""); code != http.StatusOK || !strings.Contains(body, "tide_") {
		t.Errorf("/metrics: %d, no tide_ series", code)
	}
	// The status page shows every trigger with its upstream and last
	// error. It escapes HTML ('+' of base64 becomes &#43;), so the search
	// also reads it unescaped.
	for _, path := range []string{"/status", "/status?namespace=secrets"} {
		code, body := do("status "+path, "GET", path, "", "")
		out.printf("http/status "+path+" (unescaped)", "%s", html.UnescapeString(body))
		if code != http.StatusOK || !strings.Contains(body, "redis-wrongpass-") {
			t.Errorf("GET %s: %d, no row of the redis-wrongpass triggers", path, code)
		}
	}
	// Positive control on the log capture: serve logs at debug level, and
	// the failing streams were logged.
	if log := stderr.String(); !strings.Contains(log, "level=DEBUG") {
		t.Errorf("control: no debug lines captured from serve:\n%s", log)
	}
}

// secretRPCs calls every RPC for one trigger and records responses and
// errors.
func secretRPCs(t *testing.T, out *streams, client pb.ExternalScalerClient, tr secretTrigger, stderr *testlog.Buffer) {
	name := "grpc/" + tr.name
	ref := &pb.ScaledObjectRef{Name: tr.name, Namespace: "secrets", ScalerMetadata: tr.md}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()

	spec, err := client.GetMetricSpec(ctx, ref)
	out.printf(name, "GetMetricSpec: %v err=%v", spec, err)
	if tr.control {
		if err == nil || !strings.Contains(err.Error(), controlMarker) {
			t.Errorf("control %s: GetMetricSpec error %v does not echo the bad non-secret value", tr.name, err)
		}
	}
	metricName := "unknown"
	if len(spec.GetMetricSpecs()) > 0 {
		metricName = spec.GetMetricSpecs()[0].GetMetricName()
	}
	m, err := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: metricName})
	out.printf(name, "GetMetrics(%s): %v err=%v", metricName, m, err)
	if err == nil && !tr.control {
		t.Errorf("%s: GetMetrics succeeded against a failing upstream: %v", tr.name, m)
	}
	a, err := client.IsActive(ctx, ref)
	out.printf(name, "IsActive: %v err=%v", a, err)

	sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
	defer scancel()
	stream, err := client.StreamIsActive(sctx, ref)
	if err != nil {
		out.printf(name, "StreamIsActive: err=%v", err)
		return
	}
	recv := make(chan struct{})
	go func() {
		defer close(recv)
		for {
			r, err := stream.Recv()
			out.printf(name, "StreamIsActive.Recv: %v err=%v", r, err)
			if err != nil {
				return
			}
		}
	}()
	// Keep the stream open until the scaler has logged a failed sample for
	// it (or the stream ended), so the debug log path is exercised.
	waitFor(2*time.Second, func() bool {
		select {
		case <-recv:
			return true
		default:
		}
		return strings.Contains(stderr.String(), "scaledobject="+tr.name+" ")
	})
	scancel()
	<-recv
}

func secretExplain(t *testing.T, out *streams, triggers []secretTrigger, secretDirs string) {
	var wg sync.WaitGroup
	for _, tr := range triggers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := []string{"explain", "--first-sample-timeout", "2s", "--log-level", "debug", "--secret-dirs", secretDirs}
			keys := make([]string, 0, len(tr.md))
			for k := range tr.md {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				args = append(args, "-m", k+"="+tr.md[k])
			}
			stdout, stderr := out.get("explain/"+tr.name+"/stdout"), out.get("explain/"+tr.name+"/stderr")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, args, env(nil), stdout, stderr)
			out.printf("explain/"+tr.name+"/error", "%v", err)
			if tr.control && (err == nil || !strings.Contains(err.Error(), controlMarker)) {
				t.Errorf("control %s: explain error %v does not echo the bad non-secret value", tr.name, err)
			}
			if err == nil && !tr.control {
				// A failing upstream may still be explained (as an error
				// line); record, don't require an error.
				out.printf("explain/"+tr.name+"/error", "explain returned nil")
			}
		}()
	}
	wg.Wait()
}
