package awareness

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/strategy"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// HPAReader reads the HPA that consumes a ScaledObject's metrics: what HPA
// awareness needs of pkg/hpa/kube's Lookup.
type HPAReader interface {
	Get(ctx context.Context, ref kube.Ref) (kube.Snapshot, error)
}

// Config configures HPA awareness. HPAs, Predictor and Metrics are required.
type Config struct {
	HPAs HPAReader
	// Predictor runs the model (kube.NewPredictor with the cluster's
	// controller configuration).
	Predictor *kube.Predictor
	// Interval is how often each ScaledObject's HPA is re-read and the
	// model run (default 15 s: the HPA's own sync period).
	Interval time.Duration
	// PollInterval is the engine's, for the cooldown warning.
	PollInterval time.Duration
	// Idle forgets ScaledObjects nobody asked about for this long (default
	// 10 m, the scaler's idle trigger TTL).
	Idle    time.Duration
	Metrics *metrics.Metrics
	Logger  *slog.Logger
}

// Awareness predicts, per ScaledObject, what its HPA does with the values
// the gRPC service sends. RPCs only record what they sent (Observe); Run
// reads HPAs and runs the model off the RPC path, so an API server outage
// never delays KEDA.
type Awareness struct {
	cfg Config
	met *metrics.Metrics
	log *slog.Logger

	mu   sync.Mutex
	sos  map[soKey]*soView
	warn map[soKey]map[string]bool // warnings already logged
}

type soKey struct{ namespace, name string }

// soView is what the service last sent for one ScaledObject.
type soView struct {
	hpaName string
	sent    map[string]sentValue // by metric name, without KEDA's "sN-" prefix
	used    time.Time
	rule    string // the limiting-rule series exported now
	// predicted is the HPA's expected replicas with rule; valid when rule
	// is set.
	predicted int32
}

type sentValue struct {
	value    float64
	rule     string // the source's
	replicas int64  // the source's
	mode     strategy.Mode
	capacity int
}

// New returns awareness with nothing observed yet.
func New(cfg Config) *Awareness {
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Idle <= 0 {
		cfg.Idle = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Awareness{cfg: cfg, met: cfg.Metrics, log: cfg.Logger, sos: map[soKey]*soView{}, warn: map[soKey]map[string]bool{}}
}

// Observe records what the service sent for one ScaledObject's metric; it
// is on the RPC path and does no I/O.
func (a *Awareness) Observe(now time.Time, o trigger.Owner, t *trigger.Trigger, r trigger.Reading) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := soKey{o.Namespace, o.Name}
	v := a.sos[k]
	if v == nil {
		v = &soView{sent: map[string]sentValue{}}
		a.sos[k] = v
	}
	opts := t.Options()
	v.hpaName = opts.HPAName
	v.used = now
	v.sent[t.MetricName()] = sentValue{value: r.Value, rule: r.Measurement.Rule, replicas: r.Measurement.Replicas,
		mode: opts.Mode, capacity: r.Sample.Capacity}
}

// Prediction is the latest model run for one ScaledObject.
type Prediction struct {
	// Replicas is the spec.replicas the HPA is expected to leave.
	Replicas int32
	// Rule is the limiting rule: what decided Replicas.
	Rule string
}

// Predicted returns the latest prediction for the ScaledObject o; ok is
// false until its HPA has been read and the model run once.
func (a *Awareness) Predicted(o trigger.Owner) (p Prediction, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.sos[soKey{o.Namespace, o.Name}]
	if v == nil || v.rule == "" {
		return Prediction{}, false
	}
	return Prediction{Replicas: v.predicted, Rule: v.rule}, true
}

// Run re-reads every observed ScaledObject's HPA each interval until ctx
// ends; now is the clock.
func (a *Awareness) Run(ctx context.Context, now func() time.Time) {
	t := time.NewTicker(a.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.cycle(ctx, now(), a.cfg.Idle)
		}
	}
}

// cycle predicts every ScaledObject once and forgets those KEDA stopped
// asking about for idle.
func (a *Awareness) cycle(ctx context.Context, now time.Time, idle time.Duration) {
	a.mu.Lock()
	keys := make([]soKey, 0, len(a.sos))
	for k, v := range a.sos {
		if now.Sub(v.used) > idle {
			a.forget(k, v)
			continue
		}
		keys = append(keys, k)
	}
	a.mu.Unlock()
	for _, k := range keys {
		if ctx.Err() != nil {
			return
		}
		a.predict(ctx, now, k)
	}
}

// predict reads one ScaledObject's HPA and exports the model's next step.
func (a *Awareness) predict(ctx context.Context, now time.Time, k soKey) {
	a.mu.Lock()
	v := a.sos[k]
	if v == nil {
		a.mu.Unlock()
		return
	}
	ref := kube.Ref{Namespace: k.namespace, ScaledObject: k.name, HPAName: v.hpaName}
	sent := maps.Clone(v.sent)
	a.mu.Unlock()

	snap, err := a.cfg.HPAs.Get(ctx, ref)
	if err != nil {
		a.met.HPAErrors.WithLabelValues(k.namespace, k.name).Inc()
		a.log.Debug("HPA awareness: cannot read the HPA", "namespace", k.namespace, "scaledobject", k.name, "err", err)
		return
	}
	ours := map[string]float64{}
	var facts []kube.Facts
	for _, m := range snap.Metrics {
		s, ok := sent[kube.StripIndex(m.Name)]
		if !ok {
			continue
		}
		ours[m.Name] = s.value
		facts = append(facts, kube.Facts{ReplicasMode: s.mode == strategy.Replicas, Partitions: s.capacity,
			PollInterval: a.cfg.PollInterval, MetricName: m.Name})
	}
	pred := a.cfg.Predictor.Predict(now, ref, snap, ours)
	rule := pred.Rule
	for _, s := range sent {
		if r := strategy.LimitingRule(pred.Decision, s.rule, s.replicas); r != rule {
			rule = r
			break
		}
	}
	a.met.HPAPredicted.WithLabelValues(k.namespace, k.name).Set(float64(pred.Replicas))
	a.mu.Lock()
	defer a.mu.Unlock()
	if v := a.sos[k]; v != nil {
		if v.rule != "" && v.rule != rule {
			a.met.HPARule.DeleteLabelValues(k.namespace, k.name, v.rule)
		}
		v.rule, v.predicted = rule, pred.Replicas
		a.met.HPARule.WithLabelValues(k.namespace, k.name, rule).Set(1)
	}
	a.report(k, facts, snap)
}

// report exports each configuration warning and logs it once per
// ScaledObject; a warning that no longer applies is removed from the metric.
func (a *Awareness) report(k soKey, facts []kube.Facts, snap kube.Snapshot) {
	now := map[string]string{}
	for _, f := range facts {
		for _, w := range kube.Check(snap, f) {
			now[w.Code] = w.Message
		}
	}
	logged := a.warn[k]
	if logged == nil {
		logged = map[string]bool{}
		a.warn[k] = logged
	}
	for code := range logged {
		if _, ok := now[code]; !ok {
			a.met.ConfigWarnings.DeleteLabelValues(k.namespace, k.name, code)
			delete(logged, code)
		}
	}
	for code, msg := range now {
		if !logged[code] {
			a.log.Warn("configuration cannot work as meant", "namespace", k.namespace, "scaledobject", k.name,
				"warning", code, "detail", msg)
			logged[code] = true
		}
		a.met.ConfigWarnings.WithLabelValues(k.namespace, k.name, code).Set(1)
	}
}

// forget drops a ScaledObject and its series; the caller holds a.mu.
func (a *Awareness) forget(k soKey, v *soView) {
	a.met.HPAPredicted.DeleteLabelValues(k.namespace, k.name)
	if v.rule != "" {
		a.met.HPARule.DeleteLabelValues(k.namespace, k.name, v.rule)
	}
	for code := range a.warn[k] {
		a.met.ConfigWarnings.DeleteLabelValues(k.namespace, k.name, code)
	}
	a.met.HPAErrors.DeleteLabelValues(k.namespace, k.name)
	delete(a.warn, k)
	delete(a.sos, k)
	a.cfg.Predictor.Forget(kube.Ref{Namespace: k.namespace, ScaledObject: k.name, HPAName: v.hpaName})
}
