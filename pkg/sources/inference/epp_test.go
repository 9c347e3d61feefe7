package inference

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/metadata"
)

// eppReplica is a loopback HTTP server answering scrapes as one EPP replica.
type eppReplica struct {
	mu     sync.Mutex
	e      vllmfake.EPP
	status int
	url    string
}

func newEPPReplica(t *testing.T, e vllmfake.EPP) *eppReplica {
	r := &eppReplica{e: e}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.status != 0 {
			http.Error(w, "down", r.status)
			return
		}
		vllmfake.ServeEPP(w, r.e)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/metrics"
	return r
}

func (r *eppReplica) do(fn func(e *vllmfake.EPP)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(&r.e)
}

func f(v float64) *float64 { return &v }

// TestEPPCombinesReplicas: per-process signals (flow-control queue,
// in-flight tokens, routed requests) add up over EPP replicas; pool-wide
// ones (average queue, KV cache, ready pods), which every replica computes
// over the same pool, take the max. A replica that fails makes the sums a
// lower bound, said so.
func TestEPPCombinesReplicas(t *testing.T) {
	pod := newVPod(t)
	a := newEPPReplica(t, vllmfake.EPP{FlowQueue: f(3), InflightTokens: f(100), PoolQueue: f(2), PoolKVCache: f(0.5), ReadyPods: f(2), Requests: f(10)})
	b := newEPPReplica(t, vllmfake.EPP{FlowQueue: f(4), InflightTokens: f(50), PoolQueue: f(1.5), PoolKVCache: f(0.6), ReadyPods: f(2), Requests: f(20)})
	tr := parseOK(t, scrapeMD(pod.url, "eppTargets", a.url+","+b.url), Env{})
	p := newPoller(t, tr)
	p.mustPoll(0)
	a.do(func(e *vllmfake.EPP) { *e.Requests += 10 })
	b.do(func(e *vllmfake.EPP) { *e.Requests += 30 })
	s := p.mustPoll(time.Second)
	if v := mustPart(t, s, "epp/queue"); v.Value != 7 || v.Info != "flowControlQueue=7 inflightTokens=150 requests=40/s: sum over 2 EPP replicas" {
		t.Errorf("epp/queue = %v (%s); want 7, inflight 150, 40 requests/s", v.Value, v.Info)
	}
	if v := mustPart(t, s, "epp/pool"); v.Value != 2 || v.Info != "poolReadyPods=2 poolAverageQueue=2 poolAverageKVCache=0.6: max over 2 EPP replicas" {
		t.Errorf("epp/pool = %v (%s); want ready 2, queue 2, KV 0.6", v.Value, v.Info)
	}
	b.mu.Lock()
	b.status = http.StatusInternalServerError
	b.mu.Unlock()
	s = p.mustPoll(time.Second)
	if v := mustPart(t, s, "epp/queue"); v.Value != 3 || !strings.Contains(v.Info, "a lower bound") {
		t.Errorf("with b down: %+v; want 3, a lower bound", v)
	}
	a.mu.Lock()
	a.status = http.StatusInternalServerError
	a.mu.Unlock()
	s = p.mustPoll(time.Second)
	if v := mustPart(t, s, "epp/queue"); !math.IsNaN(v.Value) || !slices.Contains(s.Notes, noteEPPDown) {
		t.Errorf("every EPP replica down: %+v, notes %q; want unknown and %q", v, s.Notes, noteEPPDown)
	}
}

// TestEPPWakesFromZero: at zero pods the EPP is the wake signal. Its
// flow-control queue series is absent while the pool has no pods
// (llm-d/llm-d#2492): that is unknown, explained, and no wake; once the
// series exists with queued requests the trigger activates with 1 replica.
func TestEPPWakesFromZero(t *testing.T) {
	epp := newEPPReplica(t, vllmfake.EPP{ReadyPods: f(0)})
	md := with("targets", "<unset>", "service", "vllm", "namespace", "ai", "port", "http", "targetRequestRate", "<unset>",
		"targetWaiting", "2", "eppTargets", epp.url)
	p := newPoller(t, parseOK(t, md, fullEnv()))
	s := p.mustPoll(0)
	if s.Activity != 0 || !slices.Contains(s.Notes, noteNoWake) {
		t.Errorf("absent EPP series at zero: activity %v notes %q; want inactive with %q", s.Activity, s.Notes, noteNoWake)
	}
	if v := mustPart(t, s, "epp/queue"); !math.IsNaN(v.Value) || !strings.Contains(v.Info, "eppQueueMetric") {
		t.Errorf("absent flow-control queue: %+v; want unknown naming eppQueueMetric", v)
	}
	epp.do(func(e *vllmfake.EPP) { e.FlowQueue = f(0) })
	s = p.mustPoll(time.Second)
	if s.Activity != 0 || slices.Contains(s.Notes, noteNoWake) {
		t.Errorf("empty EPP queue: activity %v notes %q; want inactive, and a known zero", s.Activity, s.Notes)
	}
	epp.do(func(e *vllmfake.EPP) { e.FlowQueue = f(2) })
	s = p.mustPoll(time.Second)
	if s.Activity <= 0 || s.Value != 1 {
		t.Errorf("queued at the EPP: activity %v value %v; want active, 1 replica", s.Activity, s.Value)
	}

	// The EPP's request counter is a wake signal too: requests it routed
	// (and failed, with no pod) since the previous scrape.
	counted := newEPPReplica(t, vllmfake.EPP{Requests: f(7)})
	md["eppTargets"] = counted.url
	p = newPoller(t, parseOK(t, md, fullEnv()))
	if s := p.mustPoll(0); s.Activity != 0 || slices.Contains(s.Notes, noteNoWake) {
		t.Errorf("EPP counter baseline: activity %v notes %q; want inactive, known", s.Activity, s.Notes)
	}
	counted.do(func(e *vllmfake.EPP) { *e.Requests += 3 })
	if s := p.mustPoll(time.Second); s.Activity <= 0 || s.Value != 1 {
		t.Errorf("requests at the EPP: activity %v value %v; want active, 1 replica", s.Activity, s.Value)
	}
}

// TestEPPKeys: EPP keys are validated and named.
func TestEPPKeys(t *testing.T) {
	for _, c := range []struct {
		md   metadata.Metadata
		key  string
		want string
	}{
		{with("eppQueueMetric", "q"), "eppQueueMetric", "needs eppTargets"},
		{with("eppTargets", "ftp://epp:9090"), "eppTargets", "ftp://epp:9090"},
		{with("eppTargets", "http://epp:9090", "eppReadyPodsMetric", "a b"), "eppReadyPodsMetric", "a b"},
	} {
		_, err := Parse(c.md, fullEnv())
		var ce *metadata.ConfigError
		if err == nil || !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v; want an error on %s saying %q", c.md, err, c.key, c.want)
		}
	}
}
