package inference

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// The latency goals of the latency-goal mode: each is a percentile of one
// of vLLM's latency histograms, and the token counter whose rate per
// replica is the load that percentile grows with.
const (
	goalTTFT = iota // time to first token: prefill, prompt tokens
	goalTPOT        // time per output token: decode, generation tokens
	numGoals
)

var goalKeys = [numGoals]struct {
	key, name, work string
	hist, ctr       int
}{
	goalTTFT: {"targetTTFT", "ttft", "prefill", histTTFT, ctrPrompt},
	goalTPOT: {"targetTPOT", "tpot", "decode", histTPOT, ctrGeneration},
}

// Bounds of a goal.
const (
	minGoalPct      = 50.0
	maxGoalPct      = 99.9
	minGoalLatency  = time.Millisecond
	maxGoalLatency  = 10 * time.Minute
	defaultSLOBand  = 0.2
	maxSLOBand      = 0.9
	maxGoalValueLen = 64
)

// goal is one parsed latency goal: the q-quantile within d.
type goal struct {
	pct float64 // percentile as written: 90 for p90
	d   time.Duration
}

func (g goal) set() bool        { return g.d > 0 }
func (g goal) q() float64       { return g.pct / 100 }
func (g goal) seconds() float64 { return g.d.Seconds() }
func (g goal) label() string    { return "p" + strconv.FormatFloat(g.pct, 'g', -1, 64) }
func (g goal) String() string   { return g.label() + "<=" + g.d.String() }

// parseGoal reads "p<percentile>:<duration>", e.g. "p90:500ms" or
// "p99.5:2s": a percentile from 50 to 99.9 and a Go duration from 1ms to
// 10m. Errors name the key and quote the value.
func parseGoal(key, value string) (goal, error) {
	v := strings.TrimSpace(value)
	if len(v) > maxGoalValueLen {
		return goal{}, metadata.Invalid(key, value[:maxGoalValueLen]+"...", "want p<percentile>:<duration>, e.g. p90:500ms")
	}
	pct, dur, ok := strings.Cut(v, ":")
	if !ok || !strings.HasPrefix(pct, "p") {
		return goal{}, metadata.Invalid(key, value, "want p<percentile>:<duration>, e.g. p90:500ms")
	}
	p, err := strconv.ParseFloat(pct[1:], 64)
	if err != nil || math.IsNaN(p) || p < minGoalPct || p > maxGoalPct {
		return goal{}, metadata.Invalid(key, value, "the percentile %q must be a number from %g to %g (p90, p99.5)", pct, minGoalPct, maxGoalPct)
	}
	d, err := time.ParseDuration(strings.TrimSpace(dur))
	if err != nil || d < minGoalLatency || d > maxGoalLatency {
		return goal{}, metadata.Invalid(key, value, "the latency %q must be a duration from %s to %s (500ms, 1.5s)", dur, minGoalLatency, maxGoalLatency)
	}
	return goal{pct: p, d: d}, nil
}

// sloSpec is a scrape trigger's latency-goal mode; no goal set: off.
type sloSpec struct {
	goals [numGoals]goal
	band  float64 // hysteresis: scale down only to a count predicted within goal × (1 − band)
}

func (s sloSpec) on() bool { return s.goals[goalTTFT].set() || s.goals[goalTPOT].set() }

func parseSLO(md metadata.Metadata) (sloSpec, error) {
	var s sloSpec
	for i, k := range goalKeys {
		if !md.Has(k.key) {
			continue
		}
		g, err := parseGoal(k.key, md[k.key])
		if err != nil {
			return s, err
		}
		s.goals[i] = g
	}
	band, err := floatIn(md, "sloBand", defaultSLOBand, 0, maxSLOBand, false)
	if err != nil {
		return s, err
	}
	if md.Has("sloBand") && !s.on() {
		return s, metadata.Invalid("sloBand", md["sloBand"], "is the latency goals' hysteresis band: set targetTTFT or targetTPOT")
	}
	s.band = band
	return s, nil
}

func (s sloSpec) key() string {
	if !s.on() {
		return ""
	}
	return fmt.Sprintf("|slo=%s,%s/%g", s.goals[goalTTFT], s.goals[goalTPOT], s.band)
}
