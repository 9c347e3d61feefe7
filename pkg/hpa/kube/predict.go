package kube

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// Predictor runs the HPA model forward for the scaler, one history per Ref.
// It is safe for concurrent use.
//
// The controller keeps its stabilization history and scale events in memory;
// the scaler cannot read them. The Predictor rebuilds an equivalent history
// from what it observes: the first prediction for a Ref seeds the history
// like a freshly started controller (the current count, recommended now), and
// later predictions are recorded into it as if they were the controller's
// syncs. Predictions come at the scaler's pace (every KEDA poll, from every
// KEDA replica), not the controller's, so a prediction is recorded only when
// the observed spec.replicas changed since the last recorded one (a rescale
// happened: the controller synced) or at least cfg.SyncPeriod after it; the
// others are computed on a copy and leave the history as it was. The result
// is exact when the scaler's values are what the controller reads and its
// predictions fall on the controller's syncs; otherwise recommendations and
// events are stamped up to a sync period off, and a controller that has run
// longer than the Predictor may remember a higher recommendation than the
// seed, so a scale-down can come later than predicted (never earlier).
type Predictor struct {
	cfg hpa.Config

	mu   sync.Mutex
	hist map[Ref]*history
}

type history struct {
	state hpa.State
	spec  int32     // spec.replicas seen at the last recorded prediction
	at    time.Time // when the last prediction was recorded
}

// NewPredictor returns a Predictor for a controller configured as cfg (start
// from hpa.DefaultConfig and set what the cluster's flags and gates change).
func NewPredictor(cfg hpa.Config) *Predictor {
	return &Predictor{cfg: cfg, hist: map[Ref]*history{}}
}

// Prediction is what the HPA is expected to do at its next sync.
type Prediction struct {
	// Replicas is the spec.replicas the HPA is expected to leave.
	Replicas int32
	// Rule names what decided Replicas: the decision's hpa.Reason as a
	// string. Callers may replace it with a rule of their own that decided
	// the value they sent (for example "PartitionCapped").
	Rule string
	// Decision is the model's whole answer.
	Decision hpa.Decision
	// Notes say where the prediction may be off: metrics the model leaves
	// out, values that were missing, a freshly seeded history.
	Notes []string
}

// Predict runs the model forward one sync at now: ours maps external metric
// names (as in the HPA, "s0-kafka-...") to the value the scaler is about to
// send (plain units, not milli); metrics not in ours use their status current
// value; a metric with neither is Failed.
//
// Values are converted with hpa.Milli, the truncating conversion of KEDA
// releases before kedacore/keda#7534; a rounding KEDA can differ by one
// milli, which changes the answer only on a ceil boundary.
//
// Metrics other than External (cpu, memory, Pods, Object) are left out, as
// if the HPA did not have them, and named in Notes: the HPA takes the highest
// proposal, so with them it may scale higher than predicted, and a failing
// one blocks scale-down (PartialData). An HPA with only such metrics is
// predicted NoMetrics, which says nothing about it.
func (p *Predictor) Predict(now time.Time, ref Ref, s Snapshot, ours map[string]float64) Prediction {
	inputs, notes := inputs(s.Metrics, ours)

	p.mu.Lock()
	defer p.mu.Unlock()
	h, seen := p.hist[ref]
	if !seen {
		h = &history{}
		p.hist[ref] = h
		notes = append(notes, fmt.Sprintf("history seeded at %d replicas: a controller that ran before may remember higher recommendations", s.Current.Spec))
	}
	st := clone(h.state)
	d := hpa.Sync(now, s.HPA, s.Current, inputs, &st, p.cfg)
	if !seen || s.Current.Spec != h.spec || now.Sub(h.at) >= p.cfg.SyncPeriod {
		h.state, h.spec, h.at = st, s.Current.Spec, now
	}
	return Prediction{Replicas: d.Replicas, Rule: string(d.Reason), Decision: d, Notes: notes}
}

// Forget drops ref's history, for a ScaledObject that was deleted or whose
// HPA was replaced: the next prediction seeds a new one.
func (p *Predictor) Forget(ref Ref) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.hist, ref)
}

// inputs builds hpa.Sync's metrics in the HPA's order, with a note for each
// metric left out or failed and each value in ours that matches nothing.
func inputs(metrics []Metric, ours map[string]float64) ([]hpa.MetricInput, []string) {
	var notes []string
	used := map[string]bool{}
	in := make([]hpa.MetricInput, 0, len(metrics))
	for _, m := range metrics {
		if !m.Modelled() {
			notes = append(notes, fmt.Sprintf("%s metric %q not modelled: the HPA may scale higher than predicted", m.Kind, m.Name))
			continue
		}
		mi := hpa.MetricInput{Target: m.Target}
		if v, ok := ours[m.Name]; ok {
			used[m.Name] = true
			mi.Values = []int64{hpa.Milli(v)}
		} else if m.Current != nil {
			mi.Values = []int64{*m.Current}
		} else {
			mi.Failed = true
			notes = append(notes, fmt.Sprintf("metric %q has no value: counted as failed", m.Name))
		}
		in = append(in, mi)
	}
	var unknown []string
	for name := range ours {
		if !used[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		notes = append(notes, fmt.Sprintf("metric %q is not an External metric of the HPA: ignored", name))
	}
	return in, notes
}

// clone copies a State so a prediction that is not recorded leaves the
// history untouched: Sync overwrites expired slots in place.
func clone(s hpa.State) hpa.State {
	return hpa.State{
		Recommendations: slices.Clone(s.Recommendations),
		ScaleUpEvents:   slices.Clone(s.ScaleUpEvents),
		ScaleDownEvents: slices.Clone(s.ScaleDownEvents),
	}
}
