package inference

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// The histograms a scrape trigger reads as windowed percentiles. They are
// observed, not (yet) scaled on: each sample carries their p50, p90 and
// p99 over the stable window for explain and for the latency-goal mode.
const (
	histTTFT = iota
	histTPOT
	histE2E
	histQueue
	numHists
)

// The token and preemption counters a scrape trigger reads as rates.
const (
	ctrPrompt = iota
	ctrGeneration
	ctrPreemptions
	numCounters
)

type observedKey struct{ name, metricKey, def string }

// histKeys: vLLM V1's names. The deprecated
// vllm:time_per_output_token_seconds is the same histogram as
// vllm:inter_token_latency_seconds: name it with tpotMetric on older vLLM.
var histKeys = [numHists]observedKey{
	histTTFT:  {"ttft", "ttftMetric", "vllm:time_to_first_token_seconds"},
	histTPOT:  {"tpot", "tpotMetric", "vllm:inter_token_latency_seconds"},
	histE2E:   {"requestLatency", "requestLatencyMetric", "vllm:e2e_request_latency_seconds"},
	histQueue: {"queueTime", "queueTimeMetric", "vllm:request_queue_time_seconds"},
}

var counterKeys = [numCounters]observedKey{
	ctrPrompt:      {"promptTokens", "promptTokensMetric", "vllm:prompt_tokens_total"},
	ctrGeneration:  {"generationTokens", "generationTokensMetric", "vllm:generation_tokens_total"},
	ctrPreemptions: {"preemptions", "preemptionsMetric", "vllm:num_preemptions_total"},
}

// observedKeyNames lists the metric-name keys of the observed signals.
func observedKeyNames() []string {
	var ks []string
	for _, k := range histKeys {
		ks = append(ks, k.metricKey)
	}
	for _, k := range counterKeys {
		ks = append(ks, k.metricKey)
	}
	return ks
}

// observedSpec names the histograms and counters a scrape query reads.
type observedSpec struct {
	hists    [numHists]string // base names: the samples are <name>_bucket{le}
	counters [numCounters]string
}

func parseObserved(md metadata.Metadata) (observedSpec, error) {
	var o observedSpec
	for i, k := range histKeys {
		o.hists[i] = md.String(k.metricKey, k.def)
		if !metricNameOK.MatchString(o.hists[i]) {
			return o, metadata.Invalid(k.metricKey, o.hists[i], "not a Prometheus metric name")
		}
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			if strings.HasSuffix(o.hists[i], suffix) {
				return o, metadata.Invalid(k.metricKey, o.hists[i], "name the histogram without its %s suffix", suffix)
			}
		}
	}
	for i, k := range counterKeys {
		o.counters[i] = md.String(k.metricKey, k.def)
		if !metricNameOK.MatchString(o.counters[i]) {
			return o, metadata.Invalid(k.metricKey, o.counters[i], "not a Prometheus metric name")
		}
	}
	return o, nil
}

func (o observedSpec) key() string {
	var b strings.Builder
	for i, k := range histKeys {
		fmt.Fprintf(&b, "|%s=%q", k.name, o.hists[i])
	}
	for i, k := range counterKeys {
		fmt.Fprintf(&b, "|%s=%q", k.name, o.counters[i])
	}
	return b.String()
}

// addWanted adds the sample names the observed signals read.
func (o observedSpec) addWanted(w map[string]bool) {
	for _, h := range o.hists {
		w[h+"_bucket"] = true
	}
	for _, c := range o.counters {
		w[c] = true
		if !strings.HasSuffix(c, "_total") {
			w[c+"_total"] = true
		}
	}
}

// podObserved is one pod's reading of the observed signals.
type podObserved struct {
	hists    [numHists]map[float64]float64 // cumulative count by le; nil: no series
	counters [numCounters]float64
	hasCtr   [numCounters]bool
}

// extractObserved reads one pod's histograms (summed by le over the
// matching series: several engines of one pod add up) and counters.
func extractObserved(e exposition, o *observedSpec, sel []labelMatch) podObserved {
	var p podObserved
	for i, name := range o.hists {
		for _, s := range e[name+"_bucket"] {
			le, ok := leOf(s)
			if !ok || !matches(s.labels, sel) {
				continue
			}
			if p.hists[i] == nil {
				p.hists[i] = map[float64]float64{}
			}
			p.hists[i][le] += s.value
		}
	}
	for i, name := range o.counters {
		for _, n := range []string{name, name + "_total"} {
			for _, s := range e[n] {
				if matches(s.labels, sel) {
					p.counters[i] += s.value
					p.hasCtr[i] = true
				}
			}
			if p.hasCtr[i] || strings.HasSuffix(name, "_total") {
				break
			}
		}
	}
	return p
}

// leOf is a bucket sample's upper bound.
func leOf(s series) (float64, bool) {
	for _, l := range s.labels {
		if l.GetName() == "le" {
			f, err := strconv.ParseFloat(l.GetValue(), 64)
			return f, err == nil && !math.IsNaN(f)
		}
	}
	return 0, false
}

// observedState keeps the windows of the observed signals of one query.
type observedState struct {
	hists    [numHists]*histWindow
	counters [numCounters]*counterWindow
	seenHist [numHists]bool // some pod has ever exposed the histogram
	seenCtr  [numCounters]bool
}

func newObservedState(seconds int) *observedState {
	s := &observedState{}
	for i := range s.hists {
		s.hists[i] = newHistWindow(seconds)
	}
	for i := range s.counters {
		s.counters[i] = &counterWindow{seen: map[string]counterSeen{}, ring: newRing(seconds)}
	}
	return s
}

// observe folds one poll's pods in; reset reports a counter or histogram
// that went backwards.
func (s *observedState) observe(now time.Time, names []string, pods []podObserved) (reset bool) {
	for j, p := range pods {
		for i, h := range p.hists {
			if h != nil {
				s.seenHist[i] = true
				reset = s.hists[i].observe(now, names[j], h) || reset
			}
		}
		for i := range p.counters {
			if p.hasCtr[i] {
				s.seenCtr[i] = true
				reset = s.counters[i].observe(now, names[j], p.counters[i]) || reset
			}
		}
	}
	cutoff := now.Add(-forgetPodsAfter)
	for _, h := range s.hists {
		h.forget(cutoff)
	}
	for _, c := range s.counters {
		c.forget(cutoff)
	}
	return reset
}

// parts renders the observed signals over window w: each histogram's p90
// as the value (NaN when there is none, with the reason) and p50/p99 in
// Info; the token work per second (prompt + generation) with each rate.
func (s *observedState) parts(now time.Time, w time.Duration, since time.Time, o *observedSpec) []sources.Part {
	out := make([]sources.Part, 0, numHists+1)
	for i, k := range histKeys {
		name := "signal/" + k.name + "/p90"
		if !s.seenHist[i] {
			out = append(out, sources.Part{Name: name, Value: math.NaN(), Info: fmt.Sprintf("unknown: %s (%s=%s)", reasonNoSeries, k.metricKey, o.hists[i])})
			continue
		}
		p90, reason, ok := s.hists[i].percentile(now, w, 0.9)
		if !ok {
			out = append(out, sources.Part{Name: name, Value: math.NaN(), Info: fmt.Sprintf("unknown: %s of %s", reason, w)})
			continue
		}
		p50, _, _ := s.hists[i].percentile(now, w, 0.5)
		p99, _, _ := s.hists[i].percentile(now, w, 0.99)
		out = append(out, sources.Part{Name: name, Value: p90, Info: fmt.Sprintf("p50=%.4g p90=%.4g p99=%.4g s over %s", p50, p90, p99, w)})
	}
	// One part for the counters: explain shows 16 parts, and the pods
	// come after the signals.
	var rates [numCounters]float64
	for i := range counterKeys {
		rates[i] = s.counters[i].ring.rate(now, w, since)
	}
	out = append(out, sources.Part{Name: "signal/tokens/s", Value: rates[ctrPrompt] + rates[ctrGeneration],
		Info: fmt.Sprintf("prompt=%.4g generation=%.4g preemptions=%.4g per s over %s", rates[ctrPrompt], rates[ctrGeneration], rates[ctrPreemptions], w)})
	return out
}

// counterWindow turns per-pod counters into a fleet rate, with the
// request counter's rules (see countRequests): first reading is a
// baseline, a decrease is a restart, a vanished pod stops adding, an
// increase is spread over the interval since the pod's previous reading.
type counterWindow struct {
	seen map[string]counterSeen
	ring *ring
}

func (c *counterWindow) observe(now time.Time, pod string, v float64) (reset bool) {
	prev, ok := c.seen[pod]
	c.seen[pod] = counterSeen{v, now}
	switch {
	case !ok || !now.After(prev.at):
	case v < prev.value:
		return true
	default:
		c.ring.spread(prev.at, now, v-prev.value)
	}
	return false
}

func (c *counterWindow) forget(cutoff time.Time) {
	for name, s := range c.seen {
		if s.at.Before(cutoff) {
			delete(c.seen, name)
		}
	}
}
