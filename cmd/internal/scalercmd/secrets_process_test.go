package scalercmd

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/tide-scaler/tide/internal/fdcapture"
	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/internal/testpki"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// runMainEnv makes the test binary the scaler: TestMain runs main instead
// of the tests, so a test can start the real binary as a child process
// and read everything it writes to its own stderr.
const runMainEnv = "SCALER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		Main(kubeBuild())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// secretServeProcess runs the scaler as a child process with JSON logs,
// mTLS on both listeners and the external metrics API against a fake
// kube-apiserver (whose kubeconfig token is the marker), sends it every
// trigger, and drives the paths where libraries log on their own: a TLS
// handshake error on the HTTP endpoints (net/http), failed dials (go-redis)
// and the API server and leader election (klog). Every line of the
// process's stderr must be a slog JSON record.
func secretServeProcess(t *testing.T, out *streams, triggers []secretTrigger, secretDirs string, pki *testpki.PKI) {
	dir := t.TempDir()
	config := filepath.Join(dir, "triggers.yaml")
	if err := os.WriteFile(config, []byte(`triggers:
- name: orders
  namespace: shop
  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: orders}
  maxReplicas: 3
  metadata: {source: redis, address: "127.0.0.1:1", listName: jobs, password: "`+secretMarker+`"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfig := startKubeForLogs(t, dir)
	apiPort := freePort(t)
	stderr, stdout := out.get("process/stderr (json log)"), out.get("process/stdout")
	cmd := exec.Command(os.Args[0], "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--log-format", "json", "--log-level", "debug", "--poll-interval", "200ms",
		"--first-sample-timeout", "1s", "--stream-repeat", "200ms", "--shutdown-timeout", "2s", "--secret-dirs", secretDirs,
		"--tls-cert", pki.ServerCertFile, "--tls-key", pki.ServerKeyFile, "--tls-client-ca", pki.CAFile,
		"--http-tls-cert", pki.ServerCertFile, "--http-tls-key", pki.ServerKeyFile, "--http-tls-client-ca", pki.CAFile,
		"--external-metrics-config", config, "--kubeconfig", kubeconfig,
		"--external-metrics-bind-address", "127.0.0.1", "--external-metrics-port", strconv.Itoa(apiPort))
	cmd.Env = append(childEnv(), runMainEnv+"=1")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the scaler process: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				out.printf("process/exit", "%v", err)
				if err != nil {
					t.Errorf("scaler process after SIGTERM: %v", err)
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Error("scaler process did not stop within 20s of SIGTERM; killed")
			}
		})
	}
	t.Cleanup(stop)

	recs := func() []map[string]any { r, _ := testlog.Records(stderr.String()); return r }
	var serving map[string]any
	if !waitFor(20*time.Second, func() bool { serving = testlog.Find(recs(), "serving", nil); return serving != nil }) {
		t.Fatalf("the scaler process never logged its addresses:\n%s", stderr.String())
	}
	grpcAddr, httpAddr := fmt.Sprint(serving["grpc"]), fmt.Sprint(serving["http"])

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(pki.ClientTLS(t))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewExternalScalerClient(conn)
	var wg sync.WaitGroup
	for _, tr := range triggers {
		wg.Go(func() { secretRPCs(t, out, client, tr, stderr) })
	}
	wg.Wait()

	// net/http: a client without the certificate the HTTP endpoints require.
	if c, err := tls.Dial("tcp", httpAddr, &tls.Config{RootCAs: pki.Pool(), ServerName: "localhost"}); err == nil {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.ReadAll(c)
		c.Close()
	}
	// The external metrics API: a TLS handshake error (its server sends
	// those to klog at V(5): silent), the marker as a bearer token, and an
	// authorized read of the trigger whose Redis password is the marker.
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(apiPort))
	if c, err := net.Dial("tcp", apiAddr); err == nil {
		_, _ = c.Write([]byte("\x00\x01 not a TLS handshake\n"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.ReadAll(c)
		c.Close()
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for token, code := range map[string]int{secretMarker: http.StatusUnauthorized, "hpa-token": http.StatusServiceUnavailable} {
		name := "process/external-metrics/" + strings.ToLower(http.StatusText(code))
		req, _ := http.NewRequest("GET", "https://"+apiAddr+"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/orders", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			out.printf(name, "error: %v", err)
			t.Errorf("external metrics API: %v", err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out.printf(name, "%s\n%s", resp.Status, b)
		// Control: the marker token is refused; the other reaches the
		// trigger, whose Redis is down.
		if resp.StatusCode != code {
			t.Errorf("external metrics API: %s; want %d", resp.Status, code)
		}
	}

	// Each library's line arrives as a record of the configured format.
	want := map[string]struct {
		msg   string
		attrs map[string]string
	}{
		"net/http TLS handshake error": {"http: TLS handshake error", map[string]string{"level": "WARN"}},
		"go-redis":                     {"redis:", map[string]string{"logger": "go-redis", "level": "WARN"}},
		"klog (external metrics API)":  {"Serving securely on", map[string]string{"logger": "klog"}},
		"klog (leader election)":       {"leader", map[string]string{"logger": "klog"}},
	}
	waitFor(20*time.Second, func() bool {
		r := recs()
		for _, w := range want {
			if testlog.Find(r, w.msg, w.attrs) == nil {
				return false
			}
		}
		return true
	})
	stop()
	r, err := testlog.Records(stderr.String())
	if err != nil {
		t.Errorf("the scaler process wrote something other than slog JSON to its stderr: %v", err)
	}
	for what, w := range want {
		if testlog.Find(r, w.msg, w.attrs) == nil {
			t.Errorf("no %s record (msg ~ %q, %v) in the process's stderr", what, w.msg, w.attrs)
		}
	}
	if s := stdout.String(); s != "" {
		t.Errorf("serve wrote to stdout:\n%s", s)
	}
	if t.Failed() {
		t.Logf("process stderr:\n%s", stderr.String())
	}
}

// childEnv is the test's environment without TIDE_ variables (flags).
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIDE_") && !strings.HasPrefix(kv, runMainEnv+"=") {
			env = append(env, kv)
		}
	}
	return env
}

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startKubeForLogs serves the part of a kube-apiserver the external metrics
// API and leader election use, and writes a kubeconfig whose token is the
// marker. "hpa-token" authenticates and is allowed everything; Leases are
// not found (the process never leads, and client-go logs that through klog).
func startKubeForLogs(t *testing.T, dir string) string {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		var review map[string]any
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tokenreviews"):
			_ = json.NewDecoder(r.Body).Decode(&review)
			spec, _ := review["spec"].(map[string]any)
			ok := spec["token"] == "hpa-token"
			review["status"] = map[string]any{"authenticated": ok, "user": map[string]any{"username": "hpa"}}
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/subjectaccessreviews"):
			_ = json.NewDecoder(r.Body).Decode(&review)
			review["status"] = map[string]any{"allowed": true}
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/namespaces/kube-system/configmaps"):
			if r.URL.Query().Get("watch") == "true" {
				select { // an idle watch
				case <-r.Context().Done():
				case <-done:
				}
				return
			}
			fmt.Fprint(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
			return
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
			return
		}
		_ = json.NewEncoder(w).Encode(review)
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {token: %q}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`, srv.URL, secretMarker)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// fd2Control is written to fd 2 by the test itself: the capture works.
const fd2Control = "fd2-capture-control-9c2e"

// checkFD2 ends the capture of fd 2 (stop) and checks it holds nothing but
// the control line: every library's line went through serve's logger.
// (In-process, go-redis's logger is still serve's while explain runs.)
func checkFD2(t *testing.T, out *streams, stop func()) {
	t.Helper()
	fmt.Fprintln(os.Stderr, fd2Control)
	stop()
	if !fdcapture.Supported {
		return
	}
	fd2 := out.get("process fd 2 (library loggers)").String()
	if !strings.Contains(fd2, fd2Control) {
		t.Error("control: the line the test wrote to fd 2 was not captured; is the capture working?")
	}
	if rest := strings.TrimSpace(strings.Replace(fd2, fd2Control, "", 1)); rest != "" {
		t.Errorf("something wrote to fd 2 outside the configured log:\n%s", rest)
	}
	if !strings.Contains(out.get("serve/stderr (debug log)").String(), "logger=go-redis") {
		t.Error("no go-redis line in serve's log: did no dial fail, or did the line go elsewhere?")
	}
}
