package main

import (
	"fmt"
	"math"
	"strings"
)

// goalRow is one project goal, whether the data meets it, and the figures
// that decide it.
type goalRow struct{ Goal, Verdict, Measured string }

const (
	goalMet         = "✔ met"
	goalNotMet      = "✘ not met"
	goalNotMeasured = "not measured"
	goalPartly      = "✔ met (partly measured)"
)

// verdict turns counts of passed, failed and missing checks into a verdict.
func verdict(pass, fail, missing int) string {
	switch {
	case fail > 0:
		return goalNotMet
	case pass == 0:
		return goalNotMeasured
	case missing > 0:
		return goalPartly
	}
	return goalMet
}

// evalGoals decides the goals from the data. Missing data makes a goal
// "not measured" (or "partly measured"), never a failure or a panic.
func evalGoals(res *Results, g runGroups) []goalRow {
	return []goalRow{
		ratioGoal(res, 1000, metricPerMinute,
			"(a) ≥10× fewer broker requests/min than each KEDA Kafka scaler at S = 1000 (100 ScaledObjects × 10 groups)"),
		ratioGoal(res, 3000, metricRSSMiB(res.Idle),
			"(b) ≥10× less attributable RSS than each KEDA Kafka scaler at S = 3000"),
		bigGoal(res, g),
		latencyGoal(res, g),
		correctnessGoal(res.Correctness),
		activationGoal(res.Activation, res.ActivationCost),
	}
}

// ratioGoal checks that the median KEDA/Tide ratio of metric is at least 10
// for both KEDA Kafka scalers at scale, with Tide on its default poll.
func ratioGoal(res *Results, scale int, metric func(Run) float64, goal string) goalRow {
	return ratioGoalIn(res, statsSuiteKafka, scale, metric, goal, func(peer string) string { return peer + ": not measured" })
}

// ratioGoalIn is ratioGoal in suite; missing says why a peer has no ratio.
func ratioGoalIn(res *Results, suite string, scale int, metric func(Run) float64, goal string, missingWhy func(peer string) string) goalRow {
	var pass, fail, missing int
	var parts []string
	for _, peer := range []string{ImplKEDAKafka, ImplKEDAApache} {
		s := pairedRatio(res.Runs, suite, scale, peer, ImplTide, metric)
		switch {
		case !s.ok():
			missing++
			parts = append(parts, missingWhy(peer))
			continue
		case s.Median >= 10:
			pass++
		default:
			fail++
		}
		parts = append(parts, peer+" "+mdRatio(s))
	}
	return goalRow{goal, verdict(pass, fail, missing), strings.Join(parts, "; ")}
}

// latencyGoal checks Tide's median p99 against every KEDA scaler's at every
// scale of both suites.
func latencyGoal(res *Results, g runGroups) goalRow {
	var pass, fail, missing int
	var worst, slower []string
	worstRatio := math.Inf(-1)
	for _, s := range []reportSuite{kafkaSuite(res, g), redisSuite(res, g)} {
		for _, peer := range g.impls(s.suite, s.order) {
			if !isPeer(peer) {
				continue
			}
			for _, sc := range s.scales {
				if !g.has(s.suite, peer, sc) {
					continue
				}
				t, p := g.med(s.suite, ImplTide, sc, metricP99), g.med(s.suite, peer, sc, metricP99)
				if math.IsNaN(t) || math.IsNaN(p) {
					missing++
					continue
				}
				what := fmt.Sprintf("%s S=%d vs %s: %s µs vs %s µs", s.suite, sc, peer, mdNum(t), mdNum(p))
				if f := g.med(s.suite, ImplFloor, sc, metricP99); !math.IsNaN(f) {
					what += fmt.Sprintf(" (the do-nothing external scaler: %s µs)", mdNum(f))
				}
				if t < p {
					pass++
				} else {
					fail++
					slower = append(slower, what)
				}
				if p > 0 && t/p > worstRatio {
					worstRatio, worst = t/p, []string{what}
				}
			}
		}
	}
	m := fmt.Sprintf("below in %d of %d comparisons", pass, pass+fail)
	if missing > 0 {
		m += fmt.Sprintf(" (%d not measured)", missing)
	}
	if len(slower) > 0 {
		m += "; not below: " + strings.Join(slower, "; ")
	} else if len(worst) > 0 {
		m += "; closest: " + worst[0]
	}
	return goalRow{"(c) Tide p99 below each KEDA scaler's p99 at every scale (Kafka and Redis)", verdict(pass, fail, missing), m}
}

// correctnessGoal checks that Tide is correct wherever a KEDA scaler is not.
func correctnessGoal(cs []CaseResult) goalRow {
	const goal = "(d) correct in every case where a KEDA scaler is wrong"
	kedaWrong := map[string]bool{}
	tide := map[string]CaseResult{}
	var order []string
	for _, c := range cs {
		if !isTideImpl(c.Impl) && !c.Correct && !kedaWrong[c.Case] {
			kedaWrong[c.Case] = true
			order = append(order, c.Case)
		}
		if c.Impl == ImplTide {
			tide[c.Case] = c
		}
	}
	if len(cs) == 0 || len(tide) == 0 {
		return goalRow{goal, goalNotMeasured, "no correctness results for tide"}
	}
	if len(order) == 0 {
		return goalRow{goal, goalNotMeasured, "no case where a KEDA scaler is wrong"}
	}
	var pass, fail, missing int
	var bad []string
	for _, name := range order {
		c, ok := tide[name]
		switch {
		case !ok:
			missing++
			bad = append(bad, name+" (tide not measured)")
		case c.Correct:
			pass++
		default:
			fail++
			bad = append(bad, name+" (tide wrong)")
		}
	}
	m := fmt.Sprintf("tide correct in %d of %d cases where a KEDA scaler is wrong", pass, len(order))
	if len(bad) > 0 {
		m += ": " + mdCell(strings.Join(bad, ", "), 300)
	}
	return goalRow{goal, verdict(pass, fail, missing), m}
}
