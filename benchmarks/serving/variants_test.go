//go:build !race

// Two replays of 30 simulated minutes take about 15 s without the race
// detector; the race build leaves them out, as results_test.go.

package serving

import (
	"os"
	"testing"
)

// twoGPUs is the variant scenario: chat on an H100-class Deployment (cost
// 2) and an L4-class one (SlowEngine: 2.5× slower, cost 1, so the H100's
// tokens are the cheaper), starting at 3 and 6 pods, cooldownPeriod 60 s.
func twoGPUs(t *testing.T) VariantScenario {
	t.Helper()
	data, err := os.ReadFile("variants/two-gpus.json")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return VariantScenario{Trace: tr, Cooldown: 60, Variants: []Variant{
		{Name: "h100", Cost: 2, Engine: DefaultEngine(), Initial: 3, Max: 12},
		{Name: "l4", Cost: 1, Engine: SlowEngine(), Initial: 6, Max: 24},
	}}
}

// TestVariantsScenario: the two Deployments sized each by its own
// tide-goal trigger (tide-each) against the same triggers with a variants
// list (tide-variants): the split costs at most 0.6× as much (it moves the
// load to the cheaper tokens, the H100's), and keeps at least 95 % of the
// requests within both goals where tide-each keeps 98 %.
func TestVariantsScenario(t *testing.T) {
	sc := twoGPUs(t)
	outs := map[string]VariantOutcome{}
	for _, p := range []string{PolicyEach, PolicySplit} {
		o, err := RunVariants(sc, p)
		if err != nil {
			t.Fatal(err)
		}
		outs[p] = o
		t.Logf("%-14s slo %.1f%% ttft %.1f%% tpot %.1f%% cost %.2f pods h100 %.2f l4 %.2f scales %d requests %d; misses by minute %v",
			o.Policy, o.Attainment, o.TTFTOK, o.TPOTOK, o.AvgCost, o.AvgPods[0], o.AvgPods[1], o.ScaleEvents, o.Requests, o.MissesPerMinute)
	}
	each, split := outs[PolicyEach], outs[PolicySplit]
	if split.AvgCost > 0.6*each.AvgCost || split.Attainment < 95 || each.Attainment < 98 {
		t.Errorf("tide-variants %.1f%% at cost %.2f, tide-each %.1f%% at %.2f; want the split at most 0.6× the cost, at least 95%% (tide-each 98%%)",
			split.Attainment, split.AvgCost, each.Attainment, each.AvgCost)
	}
}
