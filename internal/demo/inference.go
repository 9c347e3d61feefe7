package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// InferenceOptions describe the inference workload: a fleet of simulated
// vLLM pods behind a router, scaled by two triggers of one ScaledObject.
//
//   - `mode: scrape` over the pods' metrics. Its targets are a fixed pool
//     of loopback servers, one per possible replica: a pod whose index is
//     at or beyond the replica count does not exist and answers 503, as
//     does a pod created this tick (not ready yet). The source counts a
//     target that fails as no capacity, but when every target fails (zero
//     replicas) the trigger errors, so it cannot wake the fleet.
//   - `mode: push` over the request counts the router pushes: the router
//     sees requests arrive even with no pod to send them to, so this is
//     what wakes the model at zero. KEDA activates when either trigger is
//     active and the HPA takes the larger of the two metrics.
type InferenceOptions struct {
	Model string
	// Pods is the size of the pool of pod servers: the most replicas that
	// can exist. Set it to at least the ScaledObject's MaxReplicas.
	Pods int
	// PodRate is the requests per second one pod completes; MaxRunning its
	// batch slots: that many queued requests show as running, the rest as
	// waiting.
	PodRate    float64
	MaxRunning int
	// The triggers' keys: per-replica targets and the KPA windows.
	TargetRequestRate, TargetWaiting float64
	StableWindow, ZeroGrace          time.Duration
	ScrapeInterval                   time.Duration // 0: the source's default (1 s)
	// PushURL is the scaler's POST /v1/push and PushToken its bearer token:
	// the router pushes arrivals over HTTP, as a gateway would.
	PushURL, PushToken string
	RateScale          float64 // multiplies the phase rates
}

type inferenceWorkload struct {
	o      InferenceOptions
	pods   []*vllmPod
	router int64 // requests held by the router while no pod is ready
	prod   budget
	client *http.Client

	// The rule column: KEDA's external scaler protocol carries no reason,
	// so the demo opens the same triggers with the inference package
	// itself, on the same pods and a store fed the same pushes, and shows
	// that evaluation's rule next to the values the real server returned.
	// Its clock is the demo's tick, not the server's poll, so at a
	// transition it may be a poll ahead of or behind the served value.
	store  *inference.Store
	shadow []shadowTrigger
}

type shadowTrigger struct {
	tr *inference.Trigger
	up sources.Upstream
}

// vllmPod is one pod of the pool, served by its own loopback HTTP server.
type vllmPod struct {
	mu      sync.Mutex
	exists  bool
	ready   bool
	success float64
	queue   int64 // requests routed to the pod and not yet completed
	work    budget
	slots   int
	model   string
	srv     *httptest.Server
}

func (p *vllmPod) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	exists, ready := p.exists, p.ready
	running := min(p.queue, int64(p.slots))
	st := vllmfake.State{Model: p.model, Success: p.success, Running: float64(running), Waiting: float64(p.queue - running),
		KVCache: float64(running) / float64(p.slots)}
	p.mu.Unlock()
	switch {
	case !exists:
		http.Error(w, "no such pod: its index is beyond the replica count", http.StatusServiceUnavailable)
	case !ready:
		http.Error(w, "pod starting", http.StatusServiceUnavailable)
	default:
		vllmfake.Serve(w, st)
	}
}

func newInferenceWorkload(o InferenceOptions) (*inferenceWorkload, error) {
	if o.Pods < 1 || o.MaxRunning < 1 {
		return nil, fmt.Errorf("inference workload: Pods %d and MaxRunning %d must be at least 1", o.Pods, o.MaxRunning)
	}
	w := &inferenceWorkload{o: o, client: &http.Client{Timeout: 5 * time.Second},
		store: inference.NewStore(inference.StoreOptions{})}
	for range o.Pods {
		p := &vllmPod{slots: o.MaxRunning, model: o.Model}
		p.srv = httptest.NewServer(p)
		w.pods = append(w.pods, p)
	}
	for _, md := range w.Triggers() {
		tr, err := inference.Parse(metadata.Metadata(md), inference.Env{Push: w.store})
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("inference workload: %w", err)
		}
		up, err := tr.Query().Open()
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("inference workload: %w", err)
		}
		w.shadow = append(w.shadow, shadowTrigger{tr, up})
	}
	return w, nil
}

func (w *inferenceWorkload) Name() string      { return w.o.Model + " (vllm)" }
func (w *inferenceWorkload) Partitions() int32 { return 0 }

func (w *inferenceWorkload) Close() {
	for _, s := range w.shadow {
		s.up.Close()
	}
	for _, p := range w.pods {
		p.srv.Close()
	}
}

func (w *inferenceWorkload) Triggers() []map[string]string {
	urls := make([]string, len(w.pods))
	for i, p := range w.pods {
		urls[i] = p.srv.URL + "/metrics"
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	windows := func(md map[string]string) map[string]string {
		md["source"], md["model"] = "inference", w.o.Model
		md["targetRequestRate"] = num(w.o.TargetRequestRate)
		md["stableWindow"], md["scaleToZeroGracePeriod"] = w.o.StableWindow.String(), w.o.ZeroGrace.String()
		return md
	}
	scrape := windows(map[string]string{"mode": inference.ModeScrape, "targets": strings.Join(urls, ","),
		"targetWaiting": num(w.o.TargetWaiting)})
	if w.o.ScrapeInterval > 0 {
		scrape["scrapeInterval"] = w.o.ScrapeInterval.String()
	}
	// The push trigger gets its own metric name: both would be
	// inference-<model>, and the scaler's own metrics would mix them.
	push := windows(map[string]string{"mode": inference.ModePush, "metricName": "inference-" + w.o.Model + "-push"})
	return []map[string]string{scrape, push}
}

// routerQueueCap bounds what the router sends one pod, in batch slots: a
// pod holds at most routerQueueCap×MaxRunning requests (running and
// waiting), so a pod that came up first does not sit on the whole backlog
// while the pods after it idle.
const routerQueueCap = 4

// Step runs one tick of the fleet: pods created last tick become ready and
// pods beyond the replica count go away (their queued requests return to
// the router, which retries them); ready pods complete up to PodRate×dt
// requests each; then rate×dt requests arrive, are pushed to the scaler
// and routed to the ready pod with the shortest queue (or held by the
// router while none is ready or every pod is full).
func (w *inferenceWorkload) Step(ctx context.Context, replicas int32, rate, dt float64) (int64, int64, int64, error) {
	var consumed int64
	var ready []*vllmPod
	for i, p := range w.pods {
		p.mu.Lock()
		switch {
		case i < int(replicas) && p.exists:
			p.ready = true
		case i < int(replicas): // created now: a new pod, not ready for one tick
			p.exists, p.ready, p.success, p.queue, p.work = true, false, 0, 0, budget{}
		case p.exists:
			w.router += p.queue
			p.exists, p.ready, p.queue = false, false, 0
		}
		if p.ready {
			done := min(p.queue, p.work.take(w.o.PodRate, dt))
			p.queue -= done
			p.success += float64(done)
			consumed += done
			ready = append(ready, p)
		}
		p.mu.Unlock()
	}

	produced := w.prod.take(rate*w.o.RateScale, dt)
	if produced > 0 {
		now := time.Now()
		if err := w.push(ctx, produced); err != nil {
			return 0, 0, 0, err
		}
		w.store.Add(w.o.Model, float64(produced), now) //nolint:errcheck // a model and a count in range
	}
	w.router += produced
	for ; w.router > 0 && len(ready) > 0; w.router-- {
		best := ready[0]
		for _, p := range ready[1:] {
			if p.queue < best.queue { // only Step writes queue: reading it here is race-free
				best = p
			}
		}
		if best.queue >= routerQueueCap*int64(w.o.MaxRunning) {
			break // every pod is full: the router holds the rest
		}
		best.mu.Lock()
		best.queue++
		best.mu.Unlock()
	}
	backlog := w.router
	for _, p := range w.pods {
		p.mu.Lock()
		backlog += p.queue
		p.mu.Unlock()
	}
	return produced, consumed, backlog, nil
}

// push POSTs this tick's arrivals to the scaler's push endpoint.
func (w *inferenceWorkload) push(ctx context.Context, n int64) error {
	body, _ := json.Marshal(map[string]any{"model": w.o.Model, "count": n})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.o.PushURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.o.PushToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("push: HTTP %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Explain evaluates the triggers beside the server (see inferenceWorkload)
// and returns the KPA rule of the trigger whose served value is largest:
// the one the HPA follows.
func (w *inferenceWorkload) Explain(ctx context.Context, served []float64, failed []bool) string {
	now := time.Now()
	best := -1
	for i := range served {
		if !failed[i] && (best < 0 || served[i] > served[best]) {
			best = i
		}
	}
	rules := make([]string, len(w.shadow))
	for i, sh := range w.shadow {
		r := sh.up.Poll(ctx, now, []sources.Query{sh.tr.Query()})[0]
		if r.Err == nil {
			rules[i] = sh.tr.Evaluate(r.Sample).Reason
		}
	}
	if best < 0 || rules[best] == "" { // the trigger the HPA follows has no rule here: show another's
		best = slices.IndexFunc(rules, func(r string) bool { return r != "" })
	}
	if best < 0 {
		return ""
	}
	return fmt.Sprintf("KPA %s: %s", w.shadow[best].tr.Mode(), rules[best])
}
