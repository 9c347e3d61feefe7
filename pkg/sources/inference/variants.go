package inference

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// variantGroup sizes the variants of one model together. Each variant
// keeps a queryState of its own over its own pods (windows, KPA, capacity
// models learned from those pods alone); every poll the group steps them
// all, once, and splits the model's demand among them (split). Each
// variant's trigger has its own query (the key names the variant), whose
// sample is that variant's share: its Value the variant's count, its
// Activity the model's while the variant has a share, else 0.
type variantGroup struct {
	states  []*queryState
	counts  []int     // the latest split, being carried out; nil before the first
	at      time.Time // the poll samples are for
	samples []sources.Sample
	errs    []error
}

func (u *scrapeUpstream) group(q *scrapeQuery) *variantGroup {
	g := u.groups[q.groupKey]
	if g == nil {
		g = &variantGroup{}
		for range q.variants.names {
			g.states = append(g.states, newQueryState(q.win, q.sig))
		}
		u.groups[q.groupKey] = g
	}
	return g
}

// result is q's variant's sample of the poll at now, stepping the group
// on the first query of the poll that asks.
func (g *variantGroup) result(now time.Time, q *scrapeQuery, readings []reading) (sources.Sample, error) {
	if g.samples == nil || !g.at.Equal(now) {
		g.step(now, q, readings)
	}
	i := q.variants.chosen
	return g.samples[i], g.errs[i]
}

func (g *variantGroup) step(now time.Time, q *scrapeQuery, readings []reading) {
	v := q.variants
	n := len(v.names)
	g.at = now
	g.samples, g.errs = make([]sources.Sample, n), make([]error, n)
	ins := make([]variantIn, n)
	ready := make([]int, n)
	var demand [numGoals]float64
	activity, unreadable := 0.0, error(nil)
	for i := range n {
		obs := extract(v.member(i).pick(readings), &q.sig)
		if q.model != "" {
			obs.pushRate, obs.wakes = q.push.rate(q.model, now, q.win.panic), true
		}
		g.samples[i], g.errs[i] = g.states[i].step(now, obs)
		if g.errs[i] != nil {
			unreadable = fmt.Errorf("variant %s is unreadable: %w", v.names[i], g.errs[i])
			continue
		}
		view := g.states[i].slo.view
		ready[i] = len(obs.pods)
		cur := ready[i]
		if g.counts != nil {
			cur = g.counts[i]
		}
		ins[i] = variantIn{name: v.names[i], cost: v.costs[i], max: v.maxes[i], current: cur, ready: ready[i], learned: view.learned,
			up: view.up, down: view.down, served: view.load, fixed: int(g.samples[i].Value)}
		for gl := range demand {
			demand[gl] += view.load[gl]
		}
		activity = max(activity, g.samples[i].Activity)
	}
	if unreadable != nil {
		// A variant's load is unknown: no split, every count held.
		for i := range n {
			if g.errs[i] != nil {
				continue
			}
			if g.counts != nil {
				g.samples[i].Value = float64(max(g.counts[i], int(g.samples[i].Value)))
			}
			g.decision(i, "variant split held: "+unreadable.Error(), ready[i])
		}
		return
	}
	out := split(ins, demand, splitSaving)
	if total(out.counts) == 0 && activity > 0 {
		// Traffic and no replica: wake the variant of the least cost.
		c := 0
		for i := range ins {
			if ins[i].cost < ins[c].cost {
				c = i
			}
		}
		out.counts[c], out.rule = 1, "waking"
	}
	g.counts = out.counts
	why := fmt.Sprintf("variant split (%s): %s for %s", out.rule, out.describe(ins), demandString(q.sig.slo, demand))
	if !out.feasible {
		why += ": the variants' maxima cannot meet the goal"
	}
	for i := range n {
		s := &g.samples[i]
		own := s.Parts[0].Info
		s.Value = float64(out.counts[i])
		switch {
		case !ins[i].learned:
			g.decision(i, why+fmt.Sprintf("; %s's capacity not learned: its own decision, on its own load: %s", v.names[i], own), -1)
			continue
		case out.counts[i] > 0:
			s.Activity = activity
		default:
			s.Activity = 0
		}
		g.decision(i, why, ready[i])
	}
	for i := range n {
		g.samples[i].Parts = slices.Insert(g.samples[i].Parts, 1, sources.Part{Name: "variants", Value: out.cost, Info: variantsInfo(ins, out, q.sig.slo)})
	}
}

// decision replaces variant i's decision part; ready < 0 keeps the
// variant's own "(ready=n)".
func (g *variantGroup) decision(i int, why string, ready int) {
	s := &g.samples[i]
	if ready >= 0 {
		why = fmt.Sprintf("%s (ready=%d)", why, ready)
	}
	s.Parts[0] = sources.Part{Name: "decision", Value: s.Value, Info: why}
}

func total(c []int) int {
	t := 0
	for _, k := range c {
		t += k
	}
	return t
}

func demandString(spec sloSpec, d [numGoals]float64) string {
	var parts []string
	for g, k := range goalKeys {
		if spec.goals[g].set() {
			parts = append(parts, fmt.Sprintf("%.4g %s/s within %s", d[g], counterKeys[k.ctr].name, spec.goals[g]))
		}
	}
	return strings.Join(parts, " and ")
}

// variantsInfo explains every variant: its cost, what one replica serves
// within the goal, its load, and its count before and after.
func variantsInfo(ins []variantIn, out splitOut, spec sloSpec) string {
	parts := make([]string, len(ins))
	for i, v := range ins {
		learned := "capacity not learned (held at its own decision)"
		if v.learned {
			var rs []string
			for g, k := range goalKeys {
				if spec.goals[g].set() {
					rs = append(rs, fmt.Sprintf("%.4g %s/s per replica within %s", v.up[g], counterKeys[k.ctr].name, k.key))
				}
			}
			learned = strings.Join(rs, ", ")
		}
		parts[i] = fmt.Sprintf("%s: cost %g, %s; %d -> %d", v.name, v.cost, learned, v.current, out.counts[i])
	}
	return strings.Join(parts, "; ")
}
