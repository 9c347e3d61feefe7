//go:build !race

// Two replays of 30 simulated minutes, about 10 s without the race
// detector; the race build leaves them out, as results_test.go.

package serving

import (
	"os"
	"testing"
)

func pdPhases(t *testing.T) []*Trace {
	t.Helper()
	var out []*Trace
	for _, f := range []string{"pd/1-long-prompts.json", "pd/2-long-answers.json"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tr)
	}
	return out
}

// TestPDScenario: a prefill and a decode Deployment through 15 minutes of
// long prompts (6 req/s, 3000 prompt / 60 output tokens) then 15 of long
// answers (20 req/s, 200 / 600). One trigger over both (its count split
// evenly) against a trigger per role: per-role sizing keeps at least 20
// points more of the requests within both goals at no more than 1.1× the
// pods, and each role's count follows its own load (prefill above decode
// in the first phase, decode above prefill in the second).
func TestPDScenario(t *testing.T) {
	outs := map[string]PDOutcome{}
	for _, p := range []string{PolicyCombined, PolicyRoles} {
		o, err := RunPD(pdPhases(t), p)
		if err != nil {
			t.Fatal(err)
		}
		outs[p] = o
		t.Logf("%-14s slo %.1f%% ttft %.1f%% tpot %.1f%% pods prefill %.2f decode %.2f scales %d requests %d; misses by minute %v\nprefill %v\ndecode  %v",
			o.Policy, o.Attainment, o.TTFTOK, o.TPOTOK, o.AvgPods[0], o.AvgPods[1], o.ScaleEvents, o.Requests, o.MissesPerMinute, o.Series[0], o.Series[1])
	}
	c, r := outs[PolicyCombined], outs[PolicyRoles]
	pods := func(o PDOutcome) float64 { return o.AvgPods[0] + o.AvgPods[1] }
	if r.Attainment < c.Attainment+10 || pods(r) > 1.1*pods(c) {
		t.Errorf("roles %.1f%% at %.2f pods, combined %.1f%% at %.2f; want roles 10 points higher at no more than 1.1× the pods",
			r.Attainment, pods(r), c.Attainment, pods(c))
	}
	// Phase means of the series (every SeriesEvery s), skipping each
	// phase's first 5 minutes.
	mean := func(xs []int, from, to int) float64 {
		s := 0
		for _, x := range xs[from/SeriesEvery : to/SeriesEvery] {
			s += x
		}
		return float64(s) / float64((to-from)/SeriesEvery)
	}
	p1, d1, p2, d2 := mean(r.Series[0], 300, 900), mean(r.Series[1], 300, 900), mean(r.Series[0], 1200, 1800), mean(r.Series[1], 1200, 1800)
	t.Logf("roles, phase means: prefill %.2f decode %.2f, then prefill %.2f decode %.2f", p1, d1, p2, d2)
	if !(p1 > d1) || !(d2 > p2) {
		t.Errorf("roles: prefill %.2f, decode %.2f with long prompts, then %.2f and %.2f with long answers; want each role's count to follow its own load", p1, d1, p2, d2)
	}
}
