package main

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// actSuite is the suite an activation implementation watches, and the Tide
// implementation its ratios divide by.
func actSuite(impl string) (suite, tide string) {
	for _, fam := range actFamilies {
		for _, im := range fam {
			if im.name == impl {
				if im.suite == "redis" {
					return "redis", ActTideRedis
				}
				return "kafka", ActTidePush
			}
		}
	}
	return "kafka", ActTidePush
}

func writeActivation(b *strings.Builder, as []ActivationResult, cost []ActivationCost) {
	b.WriteString("## Activation latency and its cost\n\n")
	impls, stats, errs := activationStats(as)
	if len(impls) == 0 {
		b.WriteString("Not measured.\n\n")
		return
	}
	b.WriteString("Seconds from the first message on an idle topic or list (acknowledged by the upstream) to the " +
		"first `active`; the last column is each median divided by Tide's median on the same upstream. " +
		"Tide is measured at its defaults: a 2 s poll, a 250 ms activation probe and a 30 s idle poll.\n\n")
	var rows [][]string
	for _, i := range impls {
		s := stats[i]
		suite, tide := actSuite(i)
		ratio := "–"
		if t := stats[tide]; s.ok() && t.ok() && t.Median > 0 && i != tide {
			ratio = mdRatioVal(s.Median / t.Median)
		}
		rows = append(rows, []string{i, suite, strconv.Itoa(s.N), strconv.Itoa(errs[i]),
			mdNum(s.Median), mdNum(s.Min), mdNum(s.Max), ratio})
	}
	mdTable(b, []string{"impl", "upstream", "trials", "failed", "median s", "min s", "max s", "÷ Tide"}, rows)
	if len(cost) == 0 {
		return
	}
	b.WriteString("What keeping the triggers ready costs the upstream: requests (Kafka, counted at the brokers) or " +
		"commands (Redis, INFO commandstats) over a window in which only that implementation's idle triggers " +
		"were open, per idle trigger per minute; the last column is each figure divided by Tide's on the same upstream.\n\n")
	per := map[string]float64{}
	for _, c := range cost {
		per[c.Impl] = c.PerTriggerMinute
	}
	rows = nil
	for _, c := range cost {
		_, tide := actSuite(c.Impl)
		ratio := "–"
		if t, ok := per[tide]; ok && t > 0 && c.Impl != tide {
			ratio = mdRatioVal(c.PerTriggerMinute / t)
		}
		rows = append(rows, []string{c.Impl, c.Suite, strconv.Itoa(c.Triggers), mdNum(c.Window),
			strconv.Itoa(c.Requests), mdNum(c.PerTriggerMinute), ratio, byKind(c.ByKind)})
	}
	mdTable(b, []string{"impl", "upstream", "idle triggers", "window s", "requests", "per idle trigger per min", "÷ Tide", "by kind"}, rows)
}

// activationGoal checks, per upstream, that Tide's median activation is at
// most 0.5 s and its cost per idle trigger at most KEDA's 30 s loop's.
func activationGoal(as []ActivationResult, cost []ActivationCost) goalRow {
	const goal = "(e) activation median ≤ 0.5 s at an upstream cost per idle trigger ≤ KEDA's 30 s loop's (Kafka and Redis)"
	_, stats, _ := activationStats(as)
	per := map[string]float64{}
	for _, c := range cost {
		per[c.Impl] = c.PerTriggerMinute
	}
	var pass, fail, missing int
	var parts []string
	for _, pair := range [][2]string{{ActTidePush, ActKEDA30s}, {ActTideRedis, ActKEDARedis30s}} {
		tide, keda := pair[0], pair[1]
		s := stats[tide]
		tc, okT := per[tide]
		kc, okK := per[keda]
		if !s.ok() || !okT || !okK {
			missing++
			parts = append(parts, tide+": not measured")
			continue
		}
		ok := s.Median <= 0.5 && tc <= kc
		if ok {
			pass++
		} else {
			fail++
		}
		parts = append(parts, fmt.Sprintf("%s median %s s, %s vs %s's %s per idle trigger per min",
			tide, mdNum(s.Median), mdNum(tc), keda, mdNum(kc)))
	}
	return goalRow{goal, verdict(pass, fail, missing), strings.Join(parts, "; ")}
}

// byKind lists request kinds, most first: "ListOffsets 366, OffsetFetch 300".
func byKind(m map[string]int) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
