package explaincmd

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tide-scaler/tide/internal/testredis"
)

// flat is out with every run of white space made one space.
func flat(out string) string { return strings.Join(strings.Fields(out), " ") }

// TestExplainMigrationDryRunRedis: KEDA's redis and redis-streams triggers
// against a real redis-server, converted and recomputed on the same
// reading.
func TestExplainMigrationDryRunRedis(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "jobs", "a", "b", "c", "d", "e", "f", "g")
	srv.Do("XADD", "events", "*", "k", "v")
	srv.Do("XADD", "events", "*", "k", "v")
	srv.Do("XADD", "events", "*", "k", "v")
	so := writeFile(t, "so.yaml", fmt.Sprintf(`
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: jobs}
spec:
  triggers:
  - type: redis
    metadata: {address: %q, listName: jobs, listLength: "2", activationListLength: "7"}
  - type: redis-streams
    metadata: {address: %[1]q, stream: events, streamLength: "2"}
`, srv.Addr))
	for _, tc := range []struct {
		trigger string
		want    []string
	}{
		{"0", []string{"dry run: KEDA's redis trigger (spec.triggers[0]) as Tide source redis",
			"target (AverageValue) 2 2", "value sent 7 7", "active false false", "metric name s0-redis-jobs s0-redis-jobs"}},
		{"1", []string{"dry run: KEDA's redis-streams trigger (spec.triggers[1]) as Tide source redis",
			"target (AverageValue) 2 2", "value sent 3 3", "active true true", "metric name s1-redis-streams-events s1-redis-streams-events"}},
	} {
		out, err := explainOut(t, "--file", so, "--trigger", tc.trigger, "--replicas", "1")
		if err != nil {
			t.Fatalf("trigger %s: %v\n%s", tc.trigger, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(flat(out), w) {
				t.Errorf("trigger %s: output lacks %q:\n%s", tc.trigger, w, out)
			}
		}
	}
}

// TestExplainMigrationDryRunPrometheus: KEDA's prometheus trigger against a
// real HTTP server speaking Prometheus's query API; KEDA's namespace key
// reaches the server as the namespace query parameter, as KEDA sends it.
func TestExplainMigrationDryRunPrometheus(t *testing.T) {
	var mu sync.Mutex
	var namespaces []string
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		namespaces = append(namespaces, r.URL.Query().Get("namespace"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"7.5"]}]}}`)
	}))
	defer prom.Close()
	so := writeFile(t, "so.yaml", fmt.Sprintf(`
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: api}
spec:
  triggers:
  - type: prometheus
    metadata: {serverAddress: %q, query: "sum(rate(http_requests_total[2m]))", threshold: "2.5", activationThreshold: "8", namespace: web}
`, prom.URL))
	out, err := explainOut(t, "--file", so, "--replicas", "1")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"dry run: KEDA's prometheus trigger (spec.triggers[0]) as Tide source inference",
		"target (AverageValue) 2.5 2.5", "value sent 7.5 7.5", "active false false", "metric name s0-prometheus s0-prometheus",
		`converted key "namespace": now queryParameters namespace=web`} {
		if !strings.Contains(flat(out), w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(namespaces) == 0 || namespaces[0] != "web" {
		t.Errorf("the server saw namespace %q; want web", namespaces)
	}
}
