package inference

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

func scrapeMD(targets string, kv ...string) metadata.Metadata {
	md := metadata.Metadata{"source": "inference", "targets": targets, "targetRequestRate": "10"}
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = kv[i+1]
	}
	return md
}

func urls(pods ...*fakePod) string {
	var us []string
	for _, p := range pods {
		us = append(us, p.url)
	}
	return strings.Join(us, ",")
}

// part finds a part by name.
func part(s sources.Sample, name string) (sources.Part, bool) {
	for _, p := range s.Parts {
		if p.Name == name {
			return p, true
		}
	}
	return sources.Part{}, false
}

// TestScrapeSteadyLoad: three pods each completing 25 requests/s with a
// target of 10 per replica ask for 8 replicas, and the gauges sum over pods.
func TestScrapeSteadyLoad(t *testing.T) {
	pods := []*fakePod{newFakePod(t, podState{}), newFakePod(t, podState{openMetrics: true}), newFakePod(t, podState{})}
	tr := parseOK(t, scrapeMD(urls(pods...), "targetWaiting", "100"), Env{})
	p := newPoller(t, tr)
	var s sources.Sample
	for i := range 10 {
		for _, pod := range pods {
			pod.set(func(st *podState) { st.success = float64(25 * i); st.waiting = 2; st.running = 5 })
		}
		s = p.mustPoll(time.Second)
	}
	if s.Value != 8 || s.Activity <= 0 {
		t.Fatalf("sample %+v; want 8 replicas (75 req/s / 10), active", s)
	}
	sig, _ := part(s, "signal/requestRate")
	if !near(sig.Value, 75) {
		t.Errorf("stable request rate %v, want 75", sig.Value)
	}
	if w, _ := part(s, "signal/waiting"); !near(w.Value, 6) {
		t.Errorf("stable waiting %v, want 6", w.Value)
	}
	if pp, ok := part(s, pods[1].url); !ok || !strings.Contains(pp.Info, "requests/s=25") {
		t.Errorf("per-pod part %+v", pp)
	}
	if m := tr.Evaluate(s); m.Value != 8 || !active(tr, s) || m.Reason == "" {
		t.Errorf("Evaluate = %+v", m)
	}
}

// TestScrapeCounterResetAndNewPod: a restart (counter back to 0) and a new
// pod with a long history never give a negative or spiked rate, and a pod
// that disappears takes its requests with it without a dip below zero.
func TestScrapeCounterResetAndNewPod(t *testing.T) {
	a := newFakePod(t, podState{success: 1000})
	b := newFakePod(t, podState{success: 5_000_000}) // joins with a long history
	tr := parseOK(t, scrapeMD(a.url, "stableWindow", "6s"), Env{})
	p := newPoller(t, tr)
	rate := func(s sources.Sample) float64 { sig, _ := part(s, "signal/requestRate"); return sig.Value }
	for i := 1; i <= 6; i++ {
		a.set(func(st *podState) { st.success = 1000 + float64(10*i) })
		p.mustPoll(time.Second)
	}
	a.set(func(st *podState) { st.success = 3 }) // restarted
	s := p.mustPoll(time.Second)
	if r := rate(s); r < 0 || r > 10 {
		t.Errorf("rate after a counter reset = %v; want within [0, 10]", r)
	}
	if !containsNote(s, noteReset) {
		t.Errorf("notes %v lack the reset note", s.Notes)
	}
	// The pod set changes: b appears (huge counter), a keeps counting.
	tr2 := parseOK(t, scrapeMD(urls(a, b), "stableWindow", "6s"), Env{})
	p2 := newPoller(t, tr2)
	for i := 1; i <= 8; i++ {
		a.set(func(st *podState) { st.success = 3 + float64(10*i) })
		b.set(func(st *podState) { st.success = 5_000_000 + float64(10*i) })
		s = p2.mustPoll(time.Second)
		if r := rate(s); r < 0 || r > 20.0001 {
			t.Fatalf("poll %d: rate %v; want within [0, 20]", i, r)
		}
	}
	if r := rate(s); !near(r, 20) {
		t.Errorf("settled rate %v, want 20", r)
	}
}

func containsNote(s sources.Sample, note string) bool {
	for _, n := range s.Notes {
		if n == note {
			return true
		}
	}
	return false
}

// TestScrapeFailures: every way a pod can fail names the target; a partial
// failure is no capacity and holds scale-down; only all failing is an error.
func TestScrapeFailures(t *testing.T) {
	tests := []struct {
		name string
		st   podState
		want string
	}{
		{"HTTP 500", podState{status: 500}, "HTTP 500"},
		{"hanging pod", podState{hang: true}, "scrape timeout of 200ms"},
		{"malformed exposition", podState{body: "vllm:num_requests_waiting{model_name=\"m\" 3\n"}, "malformed exposition: line 1"},
		{"bad value", podState{body: "vllm:num_requests_waiting{model_name=\"m\"} three\n"}, "malformed exposition"},
		{"truncated OpenMetrics", podState{openMetrics: true, body: "vllm:num_requests_waiting 3\n"}, "# EOF"},
		{"HTML", podState{contentType: "text/html", body: "<html>login</html>"}, `unsupported Content-Type "text/html"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := newFakePod(t, podState{})
			bad := newFakePod(t, tt.st)
			md := scrapeMD(urls(good, bad), "scrapeTimeout", "200ms", "targetRequestRate", "", "targetWaiting", "1")
			tr := parseOK(t, md, Env{})
			p := newPoller(t, tr)
			good.set(func(st *podState) { st.waiting = 4 })
			start := time.Now()
			s, err := p.poll(time.Second)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("a poll took %s; the scrape timeout is 200ms", took)
			}
			if err != nil {
				t.Fatalf("one good pod left, but the poll failed: %v", err)
			}
			fp, ok := part(s, bad.url)
			if !ok || !strings.Contains(fp.Info, bad.url) || !strings.Contains(fp.Info, tt.want) {
				t.Errorf("failed pod part %+v; want it to name %s and say %q", fp, bad.url, tt.want)
			}
			if !containsNote(s, noteFailed) || !strings.Contains(s.Parts[0].Info, "ready=1") {
				t.Errorf("notes %v, decision %q: the failed pod must not count as capacity", s.Notes, s.Parts[0].Info)
			}
			// Only the bad pod left: an error naming it, never a 0.
			tr = parseOK(t, scrapeMD(bad.url, "scrapeTimeout", "200ms"), Env{})
			_, err = newPoller(t, tr).poll(time.Second)
			if err == nil || !strings.Contains(err.Error(), bad.url) || !strings.Contains(err.Error(), tt.want) ||
				!strings.Contains(err.Error(), "all 1 targets failed") {
				t.Errorf("all targets failing: err = %v", err)
			}
		})
	}
}

// TestScrapeHoldsScaleDownOnPartialData: losing a pod's scrape must not
// look like its load went away.
func TestScrapeHoldsScaleDownOnPartialData(t *testing.T) {
	a, b := newFakePod(t, podState{waiting: 10}), newFakePod(t, podState{waiting: 10})
	tr := parseOK(t, scrapeMD(urls(a, b), "targetRequestRate", "", "targetWaiting", "5", "stableWindow", "6s"), Env{})
	p := newPoller(t, tr)
	var s sources.Sample
	for range 8 {
		s = p.mustPoll(time.Second)
	}
	if s.Value != 4 {
		t.Fatalf("steady: %v replicas, want 4", s.Value)
	}
	b.set(func(st *podState) { st.status = 503 })
	for range 10 {
		s = p.mustPoll(time.Second)
		if s.Value < 4 {
			t.Fatalf("scaled down to %v while a pod could not be read (%s)", s.Value, s.Parts[0].Info)
		}
	}
	// The one readable pod now carries a load that needs more than it:
	// the KPA panics (the unreadable pod is no capacity), which holds too.
	if info := s.Parts[0].Info; !strings.Contains(info, "scale-down held") && !strings.HasPrefix(info, "panic") {
		t.Errorf("decision %q", info)
	}
}

// TestScrapeMissingMetric: a configured metric on no pod is an error that
// names the key; a metric missing on some pods only is a note.
func TestScrapeMissingMetric(t *testing.T) {
	a := newFakePod(t, podState{missingRunningGauge: true})
	tr := parseOK(t, scrapeMD(a.url, "targetRequestRate", "", "targetRunning", "4"), Env{})
	_, err := newPoller(t, tr).poll(time.Second)
	if err == nil || !strings.Contains(err.Error(), "runningMetric") || !strings.Contains(err.Error(), "vllm:num_requests_running") {
		t.Errorf("err = %v; want it to name runningMetric", err)
	}
	tr = parseOK(t, scrapeMD(a.url, "modelName", "other-model"), Env{})
	_, err = newPoller(t, tr).poll(time.Second)
	if err == nil || !strings.Contains(err.Error(), "labelSelector") {
		t.Errorf("selector matching nothing: err = %v", err)
	}
	b := newFakePod(t, podState{running: 3})
	tr = parseOK(t, scrapeMD(urls(a, b), "targetRequestRate", "", "targetRunning", "4"), Env{})
	s, err := newPoller(t, tr).poll(time.Second)
	if err != nil || !containsNote(s, noteMissing) {
		t.Errorf("missing on one pod: %v, notes %v", err, s.Notes)
	}
}

// TestScrapeLabelSelector: series of other models are not counted.
func TestScrapeLabelSelector(t *testing.T) {
	a := newFakePod(t, podState{model: "llama", waiting: 7})
	b := newFakePod(t, podState{model: "mistral", waiting: 100})
	tr := parseOK(t, scrapeMD(urls(a, b), "targetRequestRate", "", "targetWaiting", "1", "modelName", "llama"), Env{})
	s, err := newPoller(t, tr).poll(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := part(s, "signal/waiting"); w.Value != 7 {
		t.Errorf("waiting %v, want only llama's 7", w.Value)
	}
}

// TestScrapeSharedUpstream: triggers on the same pods share one scrape
// per interval, and a failing trigger leaves the others alone.
func TestScrapeSharedUpstream(t *testing.T) {
	a := newFakePod(t, podState{waiting: 3})
	t1 := parseOK(t, scrapeMD(a.url, "targetWaiting", "1", "targetRequestRate", ""), Env{})
	t2 := parseOK(t, scrapeMD(a.url, "targetWaiting", "2", "targetRequestRate", ""), Env{})
	broken := parseOK(t, scrapeMD(a.url, "waitingMetric", "nope", "targetWaiting", "1", "targetRequestRate", ""), Env{})
	if t1.Query().Upstream().Key != t2.Query().Upstream().Key || t1.Query().Key() == t2.Query().Key() {
		t.Fatal("same pods must share the upstream; different targets must not share the reading")
	}
	up, err := t1.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	rs := up.Poll(t.Context(), t0, []sources.Query{t1.Query(), broken.Query(), t2.Query()})
	if rs[0].Err != nil || rs[2].Err != nil || rs[0].Sample.Value != 3 || rs[2].Sample.Value != 2 {
		t.Errorf("healthy triggers: %+v / %+v", rs[0], rs[2])
	}
	if rs[1].Err == nil || !strings.Contains(rs[1].Err.Error(), "waitingMetric") {
		t.Errorf("broken trigger: %v", rs[1].Err)
	}
}

// TestExtract503IsNotReady: a target answering 503 is no capacity, like a
// not-ready endpoint, and does not hold scale-down the way an unreadable
// target does.
func TestExtract503IsNotReady(t *testing.T) {
	sig := &signalSpec{}
	obs := extract([]reading{
		{target: target{name: "a"}, expo: exposition{}},
		{target: target{name: "b"}, err: fmt.Errorf("HTTP 503 Service Unavailable: %w", errNotReady)},
		{target: target{name: "c"}, err: errors.New("connection refused")},
	}, sig)
	if len(obs.pods) != 1 || obs.notReady != 1 || len(obs.failed) != 1 {
		t.Errorf("pods %d, notReady %d, failed %d; want 1, 1, 1", len(obs.pods), obs.notReady, len(obs.failed))
	}
}
