package inference

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// variantIn is one variant of a model as the split sees it.
type variantIn struct {
	name    string
	cost    float64 // per replica, > 0
	max     int     // most replicas; 0: unbounded (bounded by the demand)
	current int     // replicas now: the previous split, being carried out
	ready   int     // of them, ready: fewer while capacity is arriving
	learned bool    // its capacity is learned for every goal set
	// up and down are the tokens/s one replica serves within each goal
	// and within the band's lower edge (learned variants only; 0 for a
	// goal not set, or one the variant cannot meet at any count).
	up, down [numGoals]float64
	// served is the tokens/s the variant's pods serve now, per goal, and
	// fixed its own fallback count (the KPA on its own pods): an unlearned
	// variant keeps both, and the learned ones split the rest.
	served [numGoals]float64
	fixed  int
}

// splitOut is a split's counts, in the order of its input, and why.
type splitOut struct {
	counts   []int
	cost     float64
	rule     string // grow, shrink, swap, hold, infeasible
	feasible bool
}

// Bounds of the split.
const (
	maxVariants     = 4    // a split enumerates counts: keep the variants few
	maxSplitCount   = 1000 // most replicas of one variant the split considers
	splitSaving     = 0.15 // a swap of hardware must save this share of the cost
	splitEpsilonRel = 1e-9
)

// split divides demand (tokens/s per goal, over all variants) among the
// variants at the least cost (sum of replicas × cost) that keeps every
// goal, with hysteresis. It is pure.
//
//   - An unlearned variant is held at its own fallback count and keeps the
//     load it serves now: its capacity is neither 0 (which would load all
//     the demand on the others) nor unbounded; the learned variants split
//     the rest.
//   - grow: while the current counts do not cover the demand at the goal,
//     replicas are added, never removed: the cheapest counts no lower than
//     the current ones that cover it.
//   - shrink: the cheapest counts no higher than the current ones that
//     cover the demand at the band's lower edge (down rates), if any.
//   - swap: the cheapest counts overall at the band's edge replace them
//     only when they save at least saving of the cost, so a small change
//     of demand never moves replicas from one hardware to another.
//   - infeasible: the variants' maxima cannot cover the demand: every
//     learned variant at its maximum (or the most the demand could use).
//   - make before break: while a learned variant has fewer ready replicas
//     than its count, no count goes down (rule "… (waiting for ready)").
func split(vs []variantIn, demand [numGoals]float64, saving float64) splitOut {
	o := splitFree(vs, demand, saving)
	arriving := false
	for _, v := range vs {
		arriving = arriving || v.learned && v.ready < v.current
	}
	if !arriving {
		return o
	}
	held := false
	for i, v := range vs {
		if v.learned && o.counts[i] < v.current {
			o.counts[i], held = v.current, true
		}
	}
	if held {
		o.rule += " (waiting for ready)"
		o.cost = costOf(o.counts, costsOf(vs))
	}
	return o
}

func costsOf(vs []variantIn) []float64 {
	c := make([]float64, len(vs))
	for i, v := range vs {
		c[i] = v.cost
	}
	return c
}

// splitFree is split without make before break.
func splitFree(vs []variantIn, demand [numGoals]float64, saving float64) splitOut {
	n := len(vs)
	need := demand
	cost := make([]float64, n)
	up, down := make([][numGoals]float64, n), make([][numGoals]float64, n)
	cur, lo, hi, zero := make([]int, n), make([]int, n), make([]int, n), make([]int, n)
	for i, v := range vs {
		cost[i] = v.cost
		if !v.learned {
			cur[i], lo[i], hi[i], zero[i] = v.fixed, v.fixed, v.fixed, v.fixed
			for g := range need {
				need[g] -= v.served[g]
			}
			continue
		}
		up[i], down[i] = v.up, v.down
		cur[i] = v.current
	}
	for g := range need {
		if need[g] <= demand[g]*1e-9 { // what the unlearned serve, summed in another order
			need[g] = 0
		}
	}
	for i, v := range vs {
		if v.learned {
			hi[i] = max(bound(v, need), v.current)
		}
	}
	out := func(c []int, rule string, ok bool) splitOut {
		return splitOut{counts: c, cost: costOf(c, cost), rule: rule, feasible: ok}
	}
	if !covers(cur, up, need) {
		if c, ok := cheapest(cost, up, need, cur, hi); ok {
			return out(c, "grow", true)
		}
		return out(hi, "infeasible", false)
	}
	shrink, ok := cheapest(cost, down, need, zero, cur)
	if !ok {
		shrink = cur
	}
	if swap, ok := cheapest(cost, down, need, zero, hi); ok && costOf(swap, cost) < costOf(shrink, cost)*(1-saving) {
		return out(swap, "swap", true)
	}
	if slices.Equal(shrink, cur) {
		return out(cur, "hold", true)
	}
	return out(shrink, "shrink", true)
}

// bound is the most replicas of v worth considering: its maximum, or the
// count that would cover the demand alone.
func bound(v variantIn, need [numGoals]float64) int {
	if v.max > 0 {
		return v.max
	}
	b := 0
	for g, r := range v.down {
		if r > 0 && need[g] > 0 {
			b = max(b, int(math.Ceil(need[g]/r)))
		}
	}
	return min(b, maxSplitCount)
}

// covers reports whether counts c at per-replica rates serve need.
func covers(c []int, rate [][numGoals]float64, need [numGoals]float64) bool {
	for g := range need {
		got := 0.0
		for i, k := range c {
			got += float64(k) * rate[i][g]
		}
		if got < need[g]*(1-splitEpsilonRel) {
			return false
		}
	}
	return true
}

func costOf(c []int, cost []float64) float64 {
	t := 0.0
	for i, k := range c {
		t += float64(k) * cost[i]
	}
	return t
}

// cheapest is the least-cost counts lo <= c <= hi that serve need at the
// per-replica rates: a depth-first search over the variants, pruned by a
// lower bound on the cost still to come (the cheapest tokens/s of the
// remaining variants). Ties go to the first found: fewer replicas of the
// earlier variants. ok is false when no counts within the bounds serve it.
func cheapest(cost []float64, rate [][numGoals]float64, need [numGoals]float64, lo, hi []int) ([]int, bool) {
	n := len(cost)
	// perUnit[i][g]: the least cost of one tokens/s of goal g among
	// variants i..n-1 (+Inf when none of them serves g).
	perUnit := make([][numGoals]float64, n+1)
	for g := range need {
		perUnit[n][g] = math.Inf(1)
	}
	for i := n - 1; i >= 0; i-- {
		for g := range need {
			perUnit[i][g] = perUnit[i+1][g]
			if rate[i][g] > 0 {
				perUnit[i][g] = min(perUnit[i][g], cost[i]/rate[i][g])
			}
		}
	}
	best, bestCost := []int(nil), math.Inf(1)
	c := make([]int, n)
	var rec func(i int, got [numGoals]float64, spent float64)
	rec = func(i int, got [numGoals]float64, spent float64) {
		rest := 0.0
		for g := range need {
			if short := need[g]*(1-splitEpsilonRel) - got[g]; short > 0 {
				rest = max(rest, short*perUnit[i][g])
			}
		}
		if spent+rest >= bestCost*(1-splitEpsilonRel) {
			return
		}
		if i == n {
			best, bestCost = slices.Clone(c), spent
			return
		}
		for k := lo[i]; k <= hi[i]; k++ {
			c[i] = k
			g := got
			done := true
			for j := range g {
				g[j] += float64(k) * rate[i][j]
				done = done && g[j] >= need[j]*(1-splitEpsilonRel)
			}
			rec(i+1, g, spent+float64(k)*cost[i])
			if done { // more of this variant only costs more
				break
			}
		}
		c[i] = lo[i]
	}
	var start [numGoals]float64
	rec(0, start, 0)
	return best, best != nil
}

// describe is the split as a decision explains it: "a100=2 l4=5 (cost 11)".
func (o splitOut) describe(vs []variantIn) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s=%d", v.name, o.counts[i])
	}
	return fmt.Sprintf("%s (cost %g)", strings.Join(parts, " "), o.cost)
}
