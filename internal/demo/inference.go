package demo

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
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
	// PodRate is the requests per second one pod serves at the mean prompt
	// (its prefill rate is PodRate × PromptTokens tokens/s); MaxRunning its
	// batch slots: that many queued requests show as running, the rest as
	// waiting.
	PodRate    float64
	MaxRunning int
	// PromptTokens is the mean prompt length (exponentially distributed;
	// default 500) and OutputTokens the tokens each request generates
	// (default 200).
	PromptTokens, OutputTokens float64
	// The triggers' keys: per-replica targets and the KPA windows.
	TargetRequestRate, TargetWaiting float64
	// TargetTTFT, when set (e.g. "p90:2s"), puts the scrape trigger in the
	// latency-goal mode: the KPA's targets decide until the prefill
	// capacity is learned.
	TargetTTFT              string
	StableWindow, ZeroGrace time.Duration
	ScrapeInterval          time.Duration // 0: the source's default (1 s)
	// PushURL is the scaler's POST /v1/push and PushToken its bearer token:
	// the router pushes arrivals over HTTP, as a gateway would (empty: only
	// the demo's own evaluation sees them).
	PushURL, PushToken string
	RateScale          float64 // multiplies the phase rates
	// Now is the demo's clock (default time.Now); Seed seeds arrival times
	// and prompt lengths.
	Now  func() time.Time
	Seed uint64
}

type inferenceWorkload struct {
	o        InferenceOptions
	pods     []*vllmPod
	router   []request // requests held while no pod is ready or every pod is full, oldest first
	prod     budget
	client   *http.Client
	rng      *rand.Rand
	start    time.Time
	last     float64 // demo seconds at the previous Step
	produced int64   // requests that arrived in the latest Step
	replicas int32   // the replica count of the latest Step

	// The rule column: KEDA's external scaler protocol carries no reason,
	// so the demo opens the same triggers with the inference package
	// itself, on the same pods and a store fed the same pushes, and shows
	// that evaluation's rule next to the values the real server returned.
	// Its clock is the demo's tick, not the server's poll, so at a
	// transition it may be a poll ahead of or behind the served value.
	store  *inference.Store
	shadow []shadowTrigger
	goal   goalView
}

type shadowTrigger struct {
	tr *inference.Trigger
	up sources.Upstream
}

func newInferenceWorkload(o InferenceOptions) (*inferenceWorkload, error) {
	if o.Pods < 1 || o.MaxRunning < 1 || !(o.PodRate > 0) {
		return nil, fmt.Errorf("inference workload: Pods %d, MaxRunning %d and PodRate %g must be positive", o.Pods, o.MaxRunning, o.PodRate)
	}
	if o.PromptTokens <= 0 {
		o.PromptTokens = 500
	}
	if o.OutputTokens <= 0 {
		o.OutputTokens = 200
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	w := &inferenceWorkload{o: o, client: &http.Client{Timeout: 5 * time.Second}, start: o.Now(),
		rng: rand.New(rand.NewPCG(o.Seed, 0)), store: inference.NewStore(inference.StoreOptions{Now: o.Now})}
	for range o.Pods {
		w.pods = append(w.pods, newVLLMPod(o))
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
	if w.o.TargetTTFT != "" {
		scrape["targetTTFT"] = w.o.TargetTTFT
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

// Step runs one tick of the fleet, the demo seconds (t0, t]: pods created
// last tick become ready and pods beyond the replica count go away (their
// queued requests return to the router, which retries them); rate×dt
// requests arrive at random times in the tick, are pushed to the scaler,
// and go, oldest first, each to the ready pod with the fewest requests in
// hand (or stay with the router while none is ready or every pod is
// full); then the pods finish what is due by t.
func (w *inferenceWorkload) Step(ctx context.Context, replicas int32, rate, dt float64) (int64, int64, int64, error) {
	now := w.o.Now()
	t := now.Sub(w.start).Seconds()
	t0 := max(w.last, t-dt)
	w.last, w.replicas = t, replicas
	var ready []*vllmPod
	for i, p := range w.pods {
		p.mu.Lock()
		exists, isReady := p.exists, p.ready
		p.mu.Unlock()
		switch {
		case i < int(replicas) && exists:
			if !isReady {
				p.mu.Lock()
				p.ready = true
				p.mu.Unlock()
			}
			ready = append(ready, p)
		case i < int(replicas): // created now: a new pod, not ready for one tick
			p.create()
		case exists:
			w.router = append(w.router, p.remove()...)
		}
	}
	slices.SortStableFunc(w.router, func(a, b request) int { return cmp.Compare(a.arrival, b.arrival) })

	produced := w.prod.take(rate*w.o.RateScale, dt)
	w.produced = produced
	if produced > 0 {
		if w.o.PushURL != "" {
			if err := w.push(ctx, produced); err != nil {
				return 0, 0, 0, err
			}
		}
		w.store.Add(w.o.Model, float64(produced), now) //nolint:errcheck // a model and a count in range
		arrivals := make([]request, produced)
		for i := range arrivals {
			tokens := min(max(1, math.Round(w.rng.ExpFloat64()*w.o.PromptTokens)), 8*w.o.PromptTokens)
			arrivals[i] = request{arrival: t0 + w.rng.Float64()*(t-t0), tokens: tokens}
		}
		slices.SortFunc(arrivals, func(a, b request) int { return cmp.Compare(a.arrival, b.arrival) })
		w.router = append(w.router, arrivals...)
	}
	routed := 0
	for _, r := range w.router {
		if len(ready) == 0 {
			break
		}
		at := max(r.arrival, t0)
		best, least := ready[0], ready[0].pending(at)
		for _, p := range ready[1:] {
			if n := p.pending(at); n < least {
				best, least = p, n
			}
		}
		if least >= routerQueueCap*w.o.MaxRunning {
			break // every pod is full: the router holds the rest
		}
		best.route(r, at)
		routed++
	}
	w.router = w.router[routed:]
	var consumed int64
	for _, p := range ready {
		consumed += p.complete(t)
	}
	backlog := int64(len(w.router))
	for _, p := range w.pods {
		backlog += int64(p.pending(t))
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
// the one the HPA follows. It also keeps the latest explanation of the
// latency goal while it is in force, for the summary.
func (w *inferenceWorkload) Explain(ctx context.Context, served []float64, failed []bool) string {
	now := w.o.Now()
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
			if i == 0 {
				w.goal.see(now.Sub(w.start), now, rules[i], r.Sample, w.replicas, w.produced > 0)
			}
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

// Summary says when the latency goal came into force and explains its
// last decision under load as `scaler explain` does: the learned capacity,
// the predicted percentile at the current and the proposed count, and the
// rule.
func (w *inferenceWorkload) Summary() []string {
	if w.o.TargetTTFT == "" {
		return nil
	}
	reg := builtin.Registry(builtin.Options{Inference: inference.Env{Push: w.store}})
	return w.goal.summary(reg, w.Triggers()[0], int32(w.o.Pods))
}
