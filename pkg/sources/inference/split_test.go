package inference

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// lv is a learned variant with one goal (TTFT): up tokens/s per replica
// within the goal, 80 % of it within the band's edge.
func lv(name string, cost, up float64, maxN, current int) variantIn {
	v := variantIn{name: name, cost: cost, max: maxN, current: current, ready: current, learned: true}
	v.up[goalTTFT], v.down[goalTTFT] = up, 0.8*up
	return v
}

// sum adds at run time, in order (constants would be exact).
func sum(xs ...float64) float64 {
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t
}

// unl is an unlearned variant at its own count, serving served tokens/s.
func unl(name string, fixed int, served float64) variantIn {
	v := variantIn{name: name, cost: 1, fixed: fixed, current: fixed, ready: fixed}
	v.served[goalTTFT] = served
	return v
}

// starting is v with none of its current replicas ready yet.
func starting(v variantIn) variantIn { v.ready = 0; return v }

func onTTFT(d float64) [numGoals]float64 {
	var n [numGoals]float64
	n[goalTTFT] = d
	return n
}

// TestSplitCases: the split's named cases. a100: cost 3, 1000 tokens/s
// per replica within the goal (0.003 per tokens/s); l4: cost 1, 250
// (0.004 per tokens/s).
func TestSplitCases(t *testing.T) {
	unlearned := variantIn{name: "l4", cost: 1, fixed: 2, current: 5}
	unlearned.served[goalTTFT] = 600
	tpot := lv("b", 1, 0, 0, 0)
	tpot.up, tpot.down = [numGoals]float64{goalTPOT: 100}, [numGoals]float64{goalTPOT: 80}
	cases := []struct {
		name   string
		vs     []variantIn
		demand [numGoals]float64
		want   []int
		rule   string
		ok     bool
	}{
		{"one variant is the single-variant law: ceil(4000/1000)", []variantIn{lv("a100", 3, 1000, 0, 0)}, onTTFT(4000), []int{4}, "grow", true},
		{"the cheaper tokens win when they round well", []variantIn{lv("a100", 3, 1000, 0, 0), lv("l4", 1, 250, 0, 0)}, onTTFT(4000), []int{4, 0}, "grow", true},
		{"a mix wins on rounding: 3×a100 + 1×l4 (10) beats 4×a100 (12)", []variantIn{lv("a100", 3, 1000, 0, 0), lv("l4", 1, 250, 0, 0)}, onTTFT(3200), []int{3, 1}, "grow", true},
		{"a maximum spills onto the dearer tokens", []variantIn{lv("a100", 3, 1000, 2, 0), lv("l4", 1, 250, 0, 0)}, onTTFT(3200), []int{2, 5}, "grow", true},
		{"infeasible: every variant at its maximum", []variantIn{lv("a100", 3, 1000, 2, 0), lv("l4", 1, 250, 3, 0)}, onTTFT(5000), []int{2, 3}, "infeasible", false},
		{"an unlearned variant keeps its count and its load; the learned serve the rest", []variantIn{lv("a100", 3, 1000, 0, 0), unlearned}, onTTFT(3600), []int{3, 2}, "grow", true},
		{"grow adds, never removes: 8×l4 grow to 10, not 1×a100 + 8×l4", []variantIn{lv("a100", 3, 1000, 0, 0), lv("l4", 1, 250, 0, 8)}, onTTFT(2300), []int{0, 10}, "grow", true},
		{"shrink removes, never adds; a 11% saving (9 -> 8) is no swap", []variantIn{lv("a100", 3, 1000, 0, 4), lv("l4", 1, 250, 0, 0)}, onTTFT(2000), []int{3, 0}, "shrink", true},
		{"a 25% saving swaps: 16×l4 (16) -> 4×a100 (12)", []variantIn{lv("a100", 3, 1000, 0, 0), lv("l4", 1, 250, 0, 16)}, onTTFT(3100), []int{4, 0}, "swap", true},
		{"within the band: hold", []variantIn{lv("a100", 3, 1000, 0, 4), lv("l4", 1, 250, 0, 0)}, onTTFT(3500), []int{4, 0}, "hold", true},
		{"two goals: each variant serves one, both are covered", []variantIn{lv("a", 1, 500, 0, 0), tpot}, [numGoals]float64{goalTTFT: 1000, goalTPOT: 250}, []int{2, 3}, "grow", true},
		{"make before break: 16×l4 wait for 4×a100 to be ready", []variantIn{starting(lv("a100", 3, 1000, 0, 4)), lv("l4", 1, 250, 0, 16)}, onTTFT(3100), []int{4, 16}, "shrink (waiting for ready)", true},
		{"all unlearned: each at its own count, the demand theirs to the last rounding", []variantIn{unl("a", 1, sum(0.1, 0.2)), unl("b", 2, 0.3)}, onTTFT(sum(0.1, 0.2, 0.3)), []int{1, 2}, "hold", true},
		{"no demand: nothing", []variantIn{lv("a100", 3, 1000, 0, 0), lv("l4", 1, 250, 0, 0)}, onTTFT(0), []int{0, 0}, "hold", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := split(c.vs, c.demand, splitSaving)
			if !slices.Equal(got.counts, c.want) || got.rule != c.rule || got.feasible != c.ok {
				t.Errorf("split = %v %s feasible=%t; want %v %s feasible=%t", got.counts, got.rule, got.feasible, c.want, c.rule, c.ok)
			}
		})
	}
}

// TestSplitCheapestProperty: over random instances of two or three
// variants (costs 1-5, 100-1000 tokens/s per replica, maxima 1-6), the
// split from no replicas costs no more than any split of the brute-forced
// grid that covers the demand, and covers it whenever one does; from any
// current counts it still covers the demand when it can, and an unlearned
// variant always gets its own fallback count.
func TestSplitCheapestProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 3000 {
		n := 2 + r.IntN(2)
		vs := make([]variantIn, n)
		for i := range vs {
			vs[i] = lv(string(rune('a'+i)), float64(1+r.IntN(5)), float64(100+r.IntN(901)), 1+r.IntN(6), 0)
		}
		demand := onTTFT(r.Float64() * 4000)
		got := split(vs, demand, splitSaving)
		best, anyOK := bruteCheapest(vs, demand)
		if anyOK != got.feasible {
			t.Fatalf("trial %d: %+v demand %v: feasible=%t, brute force says %t", trial, vs, demand, got.feasible, anyOK)
		}
		if anyOK && got.cost > best+1e-9 {
			t.Fatalf("trial %d: %+v demand %v: split %v costs %g; the grid has one costing %g", trial, vs, demand, got.counts, got.cost, best)
		}
		up := make([][numGoals]float64, n)
		for i := range vs {
			up[i] = vs[i].up
			vs[i].current = r.IntN(vs[i].max + 1)
		}
		if anyOK && !got.feasible || got.feasible && !covers(got.counts, up, demand) {
			t.Fatalf("trial %d: %v does not cover %v", trial, got.counts, demand)
		}
		// From random current counts, with the last variant unlearned.
		vs[n-1].learned, vs[n-1].fixed = false, r.IntN(4)
		vs[n-1].served = onTTFT(float64(vs[n-1].fixed) * 200)
		got = split(vs, demand, splitSaving)
		if got.counts[n-1] != vs[n-1].fixed {
			t.Fatalf("trial %d: the unlearned variant got %d, not its fallback %d", trial, got.counts[n-1], vs[n-1].fixed)
		}
		rest := onTTFT(max(demand[goalTTFT]-vs[n-1].served[goalTTFT], 0))
		up[n-1] = [numGoals]float64{}
		if got.feasible && !covers(got.counts, up, rest) {
			t.Fatalf("trial %d: %+v: %v does not cover %v", trial, vs, got.counts, rest)
		}
	}
}

// bruteCheapest is the least cost over every count 0..max of each variant
// that covers demand at the goal.
func bruteCheapest(vs []variantIn, demand [numGoals]float64) (float64, bool) {
	up := make([][numGoals]float64, len(vs))
	cost := make([]float64, len(vs))
	for i, v := range vs {
		up[i], cost[i] = v.up, v.cost
	}
	c := make([]int, len(vs))
	best, ok := 0.0, false
	var rec func(i int)
	rec = func(i int) {
		if i == len(vs) {
			if covers(c, up, demand) && (!ok || costOf(c, cost) < best) {
				best, ok = costOf(c, cost), true
			}
			return
		}
		for k := 0; k <= vs[i].max; k++ {
			c[i] = k
			rec(i + 1)
		}
	}
	rec(0)
	return best, ok
}

// TestSplitNoFlap: demand wandering ±5 % around 2000 tokens/s for 500
// steps, each split becoming the next current counts. The split never
// moves replicas from one variant to another (a step that adds to one and
// removes from another) and changes the counts on few steps; the cheapest
// split without hysteresis, on the same demand, does swap.
func TestSplitNoFlap(t *testing.T) {
	vs := []variantIn{lv("a100", 3, 1000, 0, 0), lv("l4", 1, 300, 0, 0), lv("h100", 7, 2600, 0, 0)}
	r := rand.New(rand.NewPCG(3, 4))
	demands := make([]float64, 500)
	for i := range demands {
		demands[i] = 2000 * (0.95 + 0.1*r.Float64())
	}
	run := func(hysteresis bool) (swaps, changes int) {
		cur := []int{0, 0, 0}
		for i, d := range demands {
			for j := range vs {
				vs[j].current = cur[j]
			}
			var next []int
			if hysteresis {
				next = split(vs, onTTFT(d), splitSaving).counts
			} else {
				zero := make([]int, len(vs))
				hi := []int{maxSplitCount, maxSplitCount, maxSplitCount}
				next, _ = cheapest([]float64{3, 1, 7}, [][numGoals]float64{vs[0].up, vs[1].up, vs[2].up}, onTTFT(d), zero, hi)
			}
			added, removed := false, false
			for j := range cur {
				added = added || next[j] > cur[j]
				removed = removed || next[j] < cur[j]
			}
			if i > 0 && added && removed {
				swaps++
			}
			if i > 0 && (added || removed) {
				changes++
			}
			cur = next
		}
		return swaps, changes
	}
	swaps, changes := run(true)
	if swaps > 0 || changes > 10 {
		t.Errorf("with hysteresis: %d swaps, %d changes over 500 steps; want 0 swaps and at most 10 changes", swaps, changes)
	}
	rawSwaps, rawChanges := run(false)
	t.Logf("with hysteresis: %d swaps, %d changes; the cheapest split each step: %d swaps, %d changes", swaps, changes, rawSwaps, rawChanges)
	if rawSwaps == 0 {
		t.Errorf("the cheapest split without hysteresis never swapped: the test shows nothing")
	}
}
