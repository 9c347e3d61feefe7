package serving

import (
	"math"
	"slices"
)

// llmd is llm-d's SLO-aware rule as inference-slo.md describes it:
//
//	signal = max(p90 TTFT / TTFT goal, p90 TPOT / TPOT goal), clamped at 2.0
//	smoothed: its mean over 45 s
//	warm-up credit: × ready / (ready + starting), so pods still starting count
//	band 0.40-0.55: above 0.55 scale up, below 0.40 scale down, between hold
//
// The published rule does not say how far one step goes; this takes the
// HPA's proportional step to the band's edge, ceil(current × s / edge),
// which is what a KEDA trigger on the signal with a target would do. The
// percentiles are exact over the requests of the last 30 s (no histogram
// bucket error, no Prometheus delay: in the rule's favour). A window with
// no request keeps the previous signal. Decisions go to the HPA every 15 s
// with the same exact behavior as Tide's.
type llmd struct {
	h          *hpaLoop
	ttft, tpot float64        // goal values, s
	window     [][2][]float64 // per second: TTFTs, TPOTs
	signals    []float64      // per second, newest last
	last       float64
}

const (
	llmdWindow  = 30 // s of requests per percentile
	llmdSmooth  = 45 // s of signal averaged
	llmdClamp   = 2.0
	llmdUpper   = 0.55
	llmdLower   = 0.40
	llmdPercent = 0.9
)

func newLLMD(tr *Trace) (scaler, error) {
	return &llmd{h: newHPALoop(tr, exactBehavior()), ttft: tr.ttft.sec, tpot: tr.tpot.sec}, nil
}

// p90 is the exact 90th percentile of vs (nearest rank); NaN when empty.
func p90(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(llmdPercent*float64(len(s))))-1)]
}

func (l *llmd) step(v *view) (int, bool) {
	var sec [2][]float64
	for _, r := range v.first {
		sec[0] = append(sec[0], r.TTFT())
	}
	for _, r := range v.finished {
		if r.Done > 0 && r.Output > 1 {
			sec[1] = append(sec[1], r.TPOT())
		}
	}
	l.window = append(l.window, sec)
	if len(l.window) > llmdWindow {
		l.window = l.window[1:]
	}
	var ttfts, tpots []float64
	for _, s := range l.window {
		ttfts = append(ttfts, s[0]...)
		tpots = append(tpots, s[1]...)
	}
	sig := l.last
	a, b := p90(ttfts)/l.ttft, p90(tpots)/l.tpot
	if !math.IsNaN(a) || !math.IsNaN(b) {
		sig = min(llmdClamp, math.Max(nanZero(a), nanZero(b)))
	}
	l.last = sig
	l.signals = append(l.signals, sig)
	if len(l.signals) > llmdSmooth {
		l.signals = l.signals[1:]
	}
	mean := 0.0
	for _, s := range l.signals {
		mean += s
	}
	mean /= float64(len(l.signals))
	if total := v.ready + v.starting; total > 0 {
		mean *= float64(v.ready) / float64(total)
	}
	cur := float64(v.ready + v.starting)
	desired := cur
	switch {
	case mean > llmdUpper:
		desired = math.Ceil(cur * mean / llmdUpper)
	case mean < llmdLower:
		desired = math.Ceil(cur * mean / llmdLower)
	}
	return l.h.sync(v, replicasMetric(max(desired, 1)))
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func (l *llmd) close() error { return nil }
