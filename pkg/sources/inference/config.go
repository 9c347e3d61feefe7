package inference

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Modes of the `mode` key.
const (
	ModeScrape     = "scrape"
	ModePrometheus = "prometheus"
	ModePush       = "push"
)

// Env is what the serving process lends to triggers: the push store behind
// POST /v1/push, Kubernetes discovery, and the operator's file and upstream
// policy. A nil Push or Discovery makes the keys that need it a
// configuration error naming what the process lacks.
type Env struct {
	Push      *Store
	Discovery Discovery
	Policy    sources.Policy
}

// modeKeys lists, for each key that belongs to some modes only, those
// modes. A key of another mode is an error rather than silently ignored:
// `targets` on a prometheus trigger is a mistake worth naming.
var modeKeys = func() map[string][]string {
	m := map[string][]string{}
	add := func(modes []string, keys ...string) {
		for _, k := range keys {
			m[k] = modes
		}
	}
	scrape, prom := []string{ModeScrape}, []string{ModePrometheus}
	add(scrape, "targets", "service", "namespace", "port", "path", "scheme", "scrapeInterval", "scrapeTimeout",
		"scrapeConcurrency", "requestCounter", "waitingMetric", "runningMetric", "kvCacheMetric", "labelSelector",
		"modelName", "targetWaiting", "targetRunning", "targetKVCache", "targetTTFT", "targetTPOT", "sloBand",
		"role", "roleLabel", "variants", "variant", "variantLabel")
	add(scrape, observedKeyNames()...)
	add(scrape, eppKeyNames()...)
	add(prom, "serverAddress", "query", "threshold", "activationThreshold", "ignoreNullValues", "timeout")
	add([]string{ModeScrape, ModePush}, "model", "targetRequestRate", "stableWindow", "panicWindowPercentage",
		"panicThreshold", "maxScaleUpRate", "maxScaleDownRate", "scaleDownDelay", "scaleToZeroGracePeriod")
	add([]string{ModeScrape, ModePrometheus}, "unsafeSsl", "authModes")
	add(prom, "customAuthHeader", "customHeaders", "queryParameters")
	for _, k := range credentialKeys {
		modes := []string{ModeScrape, ModePrometheus} // bearer and tls
		if k == "username" || k == "password" || k == "customAuthValue" {
			modes = prom
		}
		add(modes, metadata.SecretKeys(k)...)
	}
	return m
}()

// Keys lists every metadata key the inference source reads, sorted: mode
// and the keys of every mode. The trigger core rejects any other key (apart
// from the shared and KEDA's own); Parse rejects a key of another mode.
func Keys() []string {
	return slices.Sorted(maps.Keys(maps.Collect(func(yield func(string, bool) bool) {
		yield("mode", true)
		for k := range modeKeys {
			if !yield(k, true) {
				return
			}
		}
	})))
}

// Parse validates a trigger's scalerMetadata and builds its Trigger. Every
// error is a *metadata.ConfigError naming the key and the bad value.
func Parse(md metadata.Metadata, env Env) (*Trigger, error) {
	mode, err := md.Enum("mode", ModeScrape, ModeScrape, ModePrometheus, ModePush)
	if err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if modes, ok := modeKeys[k]; ok && md.Has(k) && !slices.Contains(modes, mode) {
			return nil, metadata.Invalid(k, echoed(k, md[k]), "is not used with mode %s (only with mode %s)", mode, strings.Join(modes, ", "))
		}
	}
	switch mode {
	case ModePrometheus:
		return parsePrometheus(md, env.Policy)
	case ModePush:
		return parsePush(md, env)
	}
	return parseScrape(md, env)
}

// echoed is key's value as an error may quote it: none of a credential,
// URLs without their userinfo.
func echoed(key, value string) string {
	switch {
	case isCredential(key):
		return ""
	case key == "serverAddress" || key == "targets":
		return shown(value)
	}
	return value
}

func parsePush(md metadata.Metadata, env Env) (*Trigger, error) {
	model, err := md.Required("model")
	if err != nil {
		return nil, err
	}
	if err := checkModel("model", model); err != nil {
		return nil, err
	}
	if env.Push == nil {
		return nil, metadata.Invalid("mode", ModePush, "this scaler has no push endpoint (no push token is configured)")
	}
	if _, err := md.Required("targetRequestRate"); err != nil {
		return nil, err
	}
	target, err := md.Float("targetRequestRate", 0, true)
	if err != nil {
		return nil, err
	}
	win, err := parseWindows(md)
	if err != nil {
		return nil, err
	}
	q := newPushQuery(env.Push, model, target, win)
	return &Trigger{mode: ModePush, query: q, metricName: sources.MetricName("inference-" + model), target: 1}, nil
}

func parseScrape(md metadata.Metadata, env Env) (*Trigger, error) {
	tg, err := parseTargets(md, env)
	if err != nil {
		return nil, err
	}
	sig, err := parseSignals(md)
	if err != nil {
		return nil, err
	}
	if sig.epp, err = parseEPP(md, env.Policy); err != nil {
		return nil, err
	}
	win, err := parseWindows(md)
	if err != nil {
		return nil, err
	}
	if err := parseRole(md, &sig); err != nil {
		return nil, err
	}
	variants, err := parseVariants(md, &sig, tg.static != nil)
	if err != nil {
		return nil, err
	}
	model := md.String("model", "")
	if model != "" {
		if err := checkModel("model", model); err != nil {
			return nil, err
		}
		if env.Push == nil {
			return nil, metadata.Invalid("model", model, "waking on pushed requests needs a push endpoint, and this scaler has none (no push token is configured)")
		}
	}
	q := newScrapeQuery(tg, sig, win, model, env.Push, variants)
	subject := tg.subject()
	if m := md.String("modelName", model); m != "" {
		subject = m
	}
	switch {
	case sig.role != "":
		subject += "-" + sig.role
	case variants != nil:
		subject += "-" + variants.names[variants.chosen]
	}
	return &Trigger{mode: ModeScrape, query: q, metricName: sources.MetricName("inference-" + subject), target: 1}, nil
}

// checkModel accepts model names a router would send: 1-256 printable
// characters.
func checkModel(key, m string) error {
	if len(m) > 256 || strings.IndexFunc(m, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return metadata.Invalid(key, m, "want 1-256 printable characters")
	}
	return nil
}

// Knative's defaults and bounds.
const (
	defaultStableWindow = 60 * time.Second
	minStableWindow     = 6 * time.Second
	maxStableWindow     = time.Hour
)

// parseWindows reads the KPA keys (Knative's defaults and bounds).
func parseWindows(md metadata.Metadata) (windowParams, error) {
	var p windowParams
	var err error
	if p.stable, err = duration(md, "stableWindow", defaultStableWindow, time.Second, minStableWindow, maxStableWindow); err != nil {
		return p, err
	}
	pct, err := floatIn(md, "panicWindowPercentage", 10, 1, 100, false)
	if err != nil {
		return p, err
	}
	// At least one 1 s bucket: Knative allows 1 % of a 6 s window.
	p.panic = max(time.Second, time.Duration(float64(p.stable)*pct/100))
	threshold, err := floatIn(md, "panicThreshold", 200, 100, 1000, true)
	if err != nil {
		return p, err
	}
	p.panicThreshold = threshold / 100
	if p.maxUpRate, err = floatIn(md, "maxScaleUpRate", 1000, 1, 1e6, true); err != nil {
		return p, err
	}
	if p.maxDownRate, err = floatIn(md, "maxScaleDownRate", 2, 1, 1e6, true); err != nil {
		return p, err
	}
	if p.scaleDownDelay, err = duration(md, "scaleDownDelay", 0, time.Second, 0, time.Hour); err != nil {
		return p, err
	}
	if p.zeroGrace, err = duration(md, "scaleToZeroGracePeriod", 30*time.Second, time.Second, 0, time.Hour); err != nil {
		return p, err
	}
	return p, nil
}

// The signals a scrape trigger reads from each pod.
const (
	sigRate = iota
	sigWaiting
	sigRunning
	sigKV
	numSignals
)

// signalKeys names each signal's metric key, vLLM default and target key.
var signalKeys = [numSignals]struct{ name, metricKey, def, targetKey string }{
	sigRate:    {"requestRate", "requestCounter", "vllm:request_success_total", "targetRequestRate"},
	sigWaiting: {"waiting", "waitingMetric", "vllm:num_requests_waiting", "targetWaiting"},
	sigRunning: {"running", "runningMetric", "vllm:num_requests_running", "targetRunning"},
	sigKV:      {"kvCache", "kvCacheMetric", "vllm:kv_cache_usage_perc", "targetKVCache"},
}

// signalSpec is what a scrape query reads of each pod.
type signalSpec struct {
	metrics  [numSignals]string
	targets  [numSignals]float64 // 0: the signal does not drive scaling
	selector []labelMatch
	observed observedSpec // histograms and token counters, observed for explain
	slo      sloSpec      // latency goals; none: the KPA decides
	role     string       // prefill, decode, or "" (key role)
	member   member       // the role's pods among the targets'; zero: all
	epp      eppSpec      // the EPP replicas' signals; none without eppTargets
}

func parseSignals(md metadata.Metadata) (signalSpec, error) {
	var s signalSpec
	any := false
	for i, k := range signalKeys {
		s.metrics[i] = md.String(k.metricKey, k.def)
		if !metricNameOK.MatchString(s.metrics[i]) {
			return s, metadata.Invalid(k.metricKey, s.metrics[i], "not a Prometheus metric name")
		}
		if !md.Has(k.targetKey) {
			continue
		}
		f, err := md.Float(k.targetKey, 0, true)
		if err != nil {
			return s, err
		}
		if i == sigKV && f > 1 {
			return s, metadata.Invalid(k.targetKey, md[k.targetKey], "is a fraction of each pod's KV cache: at most 1")
		}
		s.targets[i], any = f, true
	}
	if !any {
		return s, &metadata.ConfigError{Key: "targetRequestRate",
			Reason: "set at least one of targetRequestRate, targetWaiting, targetRunning, targetKVCache (per replica); " +
				"with targetTTFT or targetTPOT they decide until the capacity is learned"}
	}
	var err error
	if s.observed, err = parseObserved(md); err != nil {
		return s, err
	}
	if s.slo, err = parseSLO(md); err != nil {
		return s, err
	}
	s.selector, err = parseSelector(md)
	return s, err
}
