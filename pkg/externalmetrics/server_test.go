package externalmetrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/sources"
)

// klogs collects the API server library's logs. klog is process-global
// and may only be redirected before any goroutine logs, hence TestMain.
var klogs = &testlog.Buffer{}

func TestMain(m *testing.M) {
	klog.SetSlogLogger(slog.New(slog.NewTextHandler(klogs, nil)))
	os.Exit(m.Run())
}

const hpaUser = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"

// fakeKube is the part of a kube-apiserver that delegated authentication
// and authorization use: TokenReview, SubjectAccessReview and the
// extension-apiserver-authentication ConfigMap (absent here, as on a
// cluster without a front proxy). Only hpaUser's token is valid, and only
// hpaUser is allowed.
type fakeKube struct {
	t    *testing.T
	done chan struct{}

	mu   sync.Mutex
	sars []authzv1.SubjectAccessReviewSpec
}

func (k *fakeKube) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authentication.k8s.io/v1/tokenreviews":
		var tr authnv1.TokenReview
		if err := json.NewDecoder(r.Body).Decode(&tr); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if tr.Spec.Token == "hpa-token" {
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, User: authnv1.UserInfo{Username: hpaUser}}
		}
		json.NewEncoder(w).Encode(&tr)
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authorization.k8s.io/v1/subjectaccessreviews":
		var sar authzv1.SubjectAccessReview
		if err := json.NewDecoder(r.Body).Decode(&sar); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		k.mu.Lock()
		k.sars = append(k.sars, sar.Spec)
		k.mu.Unlock()
		sar.Status.Allowed = sar.Spec.User == hpaUser
		json.NewEncoder(w).Encode(&sar)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/kube-system/configmaps"):
		if r.URL.Query().Get("watch") == "true" {
			select { // an idle watch, as on a real server
			case <-r.Context().Done():
			case <-k.done:
			}
			return
		}
		if strings.HasSuffix(r.URL.Path, "/configmaps") {
			fmt.Fprint(w, `{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}`)
			return
		}
		k.notFound(w)
	default:
		k.t.Logf("fake kube-apiserver: unexpected %s %s", r.Method, r.URL)
		k.notFound(w)
	}
}

func (k *fakeKube) notFound(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
}

func (k *fakeKube) reviews() []authzv1.SubjectAccessReviewSpec {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]authzv1.SubjectAccessReviewSpec(nil), k.sars...)
}

// startFakeKube serves fakeKube on loopback and writes a kubeconfig for it.
func startFakeKube(t *testing.T) (*fakeKube, string) {
	k := &fakeKube{t: t, done: make(chan struct{})}
	srv := httptest.NewServer(k)
	t.Cleanup(func() { close(k.done); srv.Close() })
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {token: adapter-token}}]
contexts: [{name: fake, context: {cluster: fake, user: fake}}]
current-context: fake
`, srv.URL)
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return k, kubeconfig
}

// The real API server, with its real delegated authentication and
// authorization against a fake kube-apiserver, over HTTPS with the
// certificate it generated.
func TestServeExternalMetricsAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a full API server")
	}
	kube, kubeconfig := startFakeKube(t)
	dir := t.TempDir()
	reader := testqueue.NewReader()
	cache := newCache(t, reader)
	workloads := openWorkloads(t, `
triggers:
- name: orders
  namespace: shop
  metricName: orders-lag
  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: orders-consumer}
  maxReplicas: 12
  metadata: {source: fake, queue: orders, target: "10"}
`, cache)
	sampled := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	reader.Set("orders", sources.Sample{Time: sampled, Value: 105.5})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	logs := &testlog.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, Options{
			Workloads: workloads, Cache: cache, Listener: lis, CertDir: certDir, Kubeconfig: kubeconfig,
			Logger: slog.New(slog.NewTextHandler(logs, nil)),
		})
	}()
	defer func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Serve did not stop within 30s of its context ending")
		}
		if t.Failed() || os.Getenv("SHOWLOGS") != "" {
			t.Logf("server logs:\n%s\nAPI server library logs:\n%s", logs, klogs)
		}
	}()

	base := "https://" + lis.Addr().String()
	client := waitServing(t, base, filepath.Join(certDir, apiName+".crt"), served)
	get := func(path, token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}

	code, body := get("/apis/external.metrics.k8s.io/v1beta1", "hpa-token")
	var resources metav1.APIResourceList
	if err := json.Unmarshal(body, &resources); code != http.StatusOK || err != nil ||
		len(resources.APIResources) != 1 || resources.APIResources[0].Name != "orders-lag" {
		t.Fatalf("discovery: %d %s", code, body)
	}

	code, body = get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/orders-lag?labelSelector=trigger%3Dorders", "hpa-token")
	var list struct {
		Kind  string
		Items []struct {
			MetricName   string            `json:"metricName"`
			MetricLabels map[string]string `json:"metricLabels"`
			Timestamp    time.Time         `json:"timestamp"`
			Value        string            `json:"value"`
		}
	}
	if err := json.Unmarshal(body, &list); code != http.StatusOK || err != nil || len(list.Items) != 1 {
		t.Fatalf("metric: %d %s", code, body)
	}
	if v := list.Items[0]; list.Kind != "ExternalMetricValueList" || v.MetricName != "orders-lag" || v.Value != "105500m" ||
		!v.Timestamp.Equal(sampled) || v.MetricLabels["trigger"] != "orders" || v.MetricLabels["source"] != "fake" {
		t.Errorf("metric value: %s", body)
	}

	// The authorizer was asked about exactly this metric, for the HPA.
	var asked bool
	for _, s := range kube.reviews() {
		if a := s.ResourceAttributes; s.User == hpaUser && a != nil && a.Group == "external.metrics.k8s.io" &&
			a.Resource == "orders-lag" && a.Namespace == "shop" && a.Verb == "list" {
			asked = true
		}
	}
	if !asked {
		t.Errorf("no SubjectAccessReview for list orders-lag in shop: %+v", kube.reviews())
	}

	if code, body = get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/nope", "hpa-token"); code != http.StatusNotFound ||
		!strings.Contains(string(body), `external metric \"nope\" not found in namespace \"shop\"`) {
		t.Errorf("unknown metric: %d %s", code, body)
	}
	reader.Fail("orders", fmt.Errorf("fake://queues: %w: broker down", sources.ErrUnavailable))
	if code, body = get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/orders-lag", "hpa-token"); code != http.StatusServiceUnavailable ||
		!strings.Contains(string(body), "broker down") {
		t.Errorf("failing upstream: %d %s", code, body)
	}
	// Anonymous and unknown callers are denied by the delegated authorizer
	// and authenticator, before any value is read.
	if code, body = get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/orders-lag", ""); code != http.StatusForbidden {
		t.Errorf("anonymous: %d %s", code, body)
	}
	if code, body = get("/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/orders-lag", "stolen"); code != http.StatusUnauthorized {
		t.Errorf("bad token: %d %s", code, body)
	}
}

// waitServing waits for /healthz, then returns a client that trusts only
// the self-signed certificate the server wrote to certFile.
func waitServing(t *testing.T, base, certFile string, served <-chan error) *http.Client {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-served:
			t.Fatalf("Serve returned early: %v", err)
		default:
		}
		pem, err := os.ReadFile(certFile)
		if err == nil {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				t.Fatalf("%s holds no certificate", certFile)
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
			resp, err := client.Get(base + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Cleanup(client.CloseIdleConnections)
					return client
				}
				err = fmt.Errorf("/healthz: %s", resp.Status)
			}
			last = err
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // polling a real server's start-up, bounded by deadline
	}
	t.Fatalf("server not serving after 60s: %v", last)
	return nil
}

// Bad options fail Serve at once, before anything listens.
func TestServeRejectsBadOptions(t *testing.T) {
	cache := newCache(t, testqueue.NewReader())
	workloads := openWorkloads(t, "triggers:\n- {name: a, namespace: shop, maxReplicas: 3, "+
		"scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: w}, metadata: {source: fake, queue: q}}\n", cache)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"no workloads", Options{Cache: cache}, "Workloads and Options.Cache are required"},
		{"no cache", Options{Workloads: workloads}, "Workloads and Options.Cache are required"},
		{"bind address", Options{Workloads: workloads, Cache: cache, BindAddress: "localhost"}, `bind address "localhost"`},
		{"half a key pair", Options{Workloads: workloads, Cache: cache, TLSCertFile: "tls.crt"}, "both the certificate and the key"},
	} {
		tc.o.Logger = quiet
		if err := Serve(t.Context(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
