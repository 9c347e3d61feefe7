package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// goalView follows the latency-goal mode through the demo: when it first
// decided, how often, and its latest decision while requests arrived.
type goalView struct {
	first     time.Duration
	decisions int
	at        time.Duration
	rule      string
	parts     []string // the slo/* parts: learned capacity, predictions
}

// see records one evaluation at demo time t with its rule and parts;
// traffic says whether requests arrived in the tick.
func (g *goalView) see(t time.Duration, rule string, parts []sources.Part, traffic bool) {
	if !strings.HasPrefix(rule, "latency goal") || strings.HasPrefix(rule, "latency goal not in force") {
		return
	}
	if g.decisions == 0 {
		g.first = t
	}
	g.decisions++
	if !traffic && g.rule != "" {
		return
	}
	g.at, g.rule, g.parts = t, rule, g.parts[:0]
	for _, p := range parts {
		if strings.HasPrefix(p.Name, "slo/") {
			g.parts = append(g.parts, p.Name+": "+p.Info)
		}
	}
}

// summary is the view's closing lines for goal (the targetTTFT value).
func (g *goalView) summary(goal string) []string {
	if g.decisions == 0 {
		return []string{fmt.Sprintf("latency goal targetTTFT %s never came into force: the prefill capacity was not learned (the KPA decided throughout)", goal)}
	}
	out := []string{
		fmt.Sprintf("latency goal targetTTFT %s in force from %s (%d evaluations); its last decision, at %s:", goal, g.first.Round(time.Second), g.decisions, g.at.Round(time.Second)),
		"  rule " + g.rule,
	}
	for _, p := range g.parts {
		out = append(out, "  "+p)
	}
	return out
}
