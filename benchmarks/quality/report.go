package quality

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Report is every policy's replay of every trace, and the goals check.
type Report struct {
	Policies []Policy
	Traces   []*Trace
	// Outcomes[i][j] is trace i under policy j, the mean over phases.
	Outcomes [][]Outcome
	Goals    []GoalRow
}

// GoalRow is the goals check of one trace (see CheckGoals).
type GoalRow struct {
	Trace string
	// Best is the Tide policy that meets the most of the three criteria
	// against the baseline (ties: higher attainment, then fewer
	// replica-minutes).
	Best, Baseline Outcome
	Bursts         int
	// Attainment: Best's attainment >= the baseline's. Cost: Best's
	// replica-minutes <= 0.8x the baseline's. Rebalances: Best's
	// rebalances per burst <= half the baseline's.
	Attainment, Cost, Rebalances bool
	// TimeTarget is the best of Tide's time-based policies (lagTarget, the
	// drain law) by the same ordering; BeatsThreshold: it beats the
	// baseline's fixed lagThreshold on both attainment (>) and
	// replica-minutes (<).
	TimeTarget     Outcome
	BeatsThreshold bool
	// PhasesMet and PhasesBeat count the phases (see RunPhases) at which
	// the goals hold, and the time target beats the threshold, judged on
	// that phase's outcomes alone; Phases is how many there were.
	PhasesMet, PhasesBeat, Phases int
	// PhasesTied counts the phases at which the time target does not beat
	// the threshold only because both reach 100% (and it is cheaper).
	PhasesTied int
	// Tied: both at 100% attainment, the time target cheaper (it cannot
	// beat 100%).
	Tied bool
}

// Met reports whether all three criteria hold.
func (g GoalRow) Met() bool { return g.Attainment && g.Cost && g.Rebalances }

// TraceFiles lists the *.json files of dir, sorted.
func TraceFiles(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no trace (*.json) in %s", dir)
	}
	sort.Strings(paths)
	return paths, nil
}

// Evaluate reads every trace file and replays it under every policy.
func Evaluate(paths []string, ps []Policy) (*Report, error) {
	r := &Report{Policies: ps}
	for _, path := range paths {
		tr, err := ReadTrace(path)
		if err != nil {
			return nil, err
		}
		out, phases, err := RunAll(tr, ps)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		g := CheckGoals(tr, ps, out)
		for _, ph := range phases {
			pg := CheckGoals(tr, ps, ph)
			g.Phases++
			if pg.Met() {
				g.PhasesMet++
			}
			switch {
			case pg.BeatsThreshold:
				g.PhasesBeat++
			case pg.Tied:
				g.PhasesTied++
			}
		}
		r.Traces = append(r.Traces, tr)
		r.Outcomes = append(r.Outcomes, out)
		r.Goals = append(r.Goals, g)
	}
	return r, nil
}

// CheckGoals computes a trace's goals row from its outcomes (one per
// policy, in the order of ps).
func CheckGoals(tr *Trace, ps []Policy, out []Outcome) GoalRow {
	g := GoalRow{Trace: tr.Name, Bursts: max(tr.Bursts, 1)}
	for j, p := range ps {
		if p.Baseline {
			g.Baseline = out[j]
		}
	}
	base := g.Baseline
	bursts := float64(g.Bursts)
	score := func(o Outcome) (att, cost, reb bool, n int) {
		att = o.Attainment >= base.Attainment
		cost = o.ReplicaMinutes <= 0.8*base.ReplicaMinutes
		reb = o.Rebalances/bursts <= 0.5*base.Rebalances/bursts
		for _, b := range []bool{att, cost, reb} {
			if b {
				n++
			}
		}
		return att, cost, reb, n
	}
	better := func(a, b Outcome) bool {
		_, _, _, na := score(a)
		_, _, _, nb := score(b)
		if na != nb {
			return na > nb
		}
		if a.Attainment != b.Attainment {
			return a.Attainment > b.Attainment
		}
		return a.ReplicaMinutes < b.ReplicaMinutes
	}
	first, firstTime := true, true
	for j, p := range ps {
		if !p.Tide {
			continue
		}
		o := out[j]
		if first || better(o, g.Best) {
			g.Best, first = o, false
		}
		if p.Behavior != nil && p.Name != "tide-raw" && (firstTime || better(o, g.TimeTarget)) {
			g.TimeTarget, firstTime = o, false
		}
	}
	g.Attainment, g.Cost, g.Rebalances, _ = score(g.Best)
	tt := g.TimeTarget
	g.BeatsThreshold = !firstTime && tt.Attainment > base.Attainment && tt.ReplicaMinutes < base.ReplicaMinutes
	full := func(a float64) bool { return a >= 100-1e-9 } // a mean of 100s may fall short by rounding
	g.Tied = !firstTime && full(tt.Attainment) && full(base.Attainment) && tt.ReplicaMinutes < base.ReplicaMinutes
	return g
}

// Text is the results table and the goals table, as printed.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %-15s %7s %8s %6s %6s %9s %5s\n",
		"trace", "policy", "attain%", "rep-min", "scales", "rebal", "worst age", "peak")
	for i, tr := range r.Traces {
		for j, o := range r.Outcomes[i] {
			name := ""
			if j == 0 {
				name = fmt.Sprintf("%s (goal %gs)", tr.Name, tr.GoalSeconds)
			}
			fmt.Fprintf(&b, "%-28s %-15s %7.1f %8.1f %6.1f %6.1f %8.0fs %5d\n",
				name, o.Policy, o.Attainment, o.ReplicaMinutes, o.ScaleEvents, o.Rebalances, o.WorstAge, o.Peak)
		}
	}
	b.WriteString("\nGoals per trace, on the means: the best Tide policy against KEDA's defaults (attainment >=,\n")
	b.WriteString("replica-minutes <= 0.8x, rebalances per burst <= 0.5x), and whether the best time-based Tide policy\n")
	b.WriteString("beats lagThreshold on both attainment and replica-minutes; \"phases\": at how many of the phases the\n")
	b.WriteString("same verdicts hold on that phase's run alone.\n\n")
	fmt.Fprintf(&b, "%-18s %-15s %-13s %-15s %-13s %-8s %-7s %-28s %s\n",
		"trace", "best tide", "attain%", "rep-min", "rebal/burst", "goals", "phases", "time target vs lagThreshold", "phases")
	for _, g := range r.Goals {
		bt, bs := g.Best, g.Baseline
		burst := float64(g.Bursts)
		verdict := "NOT MET"
		if g.Met() {
			verdict = "MET"
		}
		beats := "no"
		switch {
		case g.BeatsThreshold:
			beats = "yes"
		case g.Tied:
			beats = "cheaper, both 100%"
		}
		fmt.Fprintf(&b, "%-18s %-15s %-13s %-15s %-13s %-8s %-7s %-28s %s\n", g.Trace, bt.Policy,
			fmt.Sprintf("%.1f/%.1f %s", bt.Attainment, bs.Attainment, mark(g.Attainment)),
			fmt.Sprintf("%.2fx %s", bt.ReplicaMinutes/bs.ReplicaMinutes, mark(g.Cost)),
			fmt.Sprintf("%.1f/%.1f %s", bt.Rebalances/burst, bs.Rebalances/burst, mark(g.Rebalances)),
			verdict, fmt.Sprintf("%d/%d", g.PhasesMet, g.Phases),
			fmt.Sprintf("%s (%s %.1f%% %.1f)", beats, g.TimeTarget.Policy, g.TimeTarget.Attainment, g.TimeTarget.ReplicaMinutes),
			beatPhases(g))
	}
	b.WriteString("\nOne policy for every trace (the best above is chosen per trace): traces where it alone meets all three\n")
	for j, p := range r.Policies {
		if !p.Tide {
			continue
		}
		met := 0
		for i, tr := range r.Traces {
			g := CheckGoals(tr, []Policy{r.Policies[baseIndex(r.Policies)], p},
				[]Outcome{r.Outcomes[i][baseIndex(r.Policies)], r.Outcomes[i][j]})
			if g.Met() {
				met++
			}
		}
		fmt.Fprintf(&b, "  %-15s %d of %d\n", p.Name, met, len(r.Traces))
	}
	return b.String()
}

// baseIndex is the index of the baseline policy (0 if none is marked).
func baseIndex(ps []Policy) int {
	for j, p := range ps {
		if p.Baseline {
			return j
		}
	}
	return 0
}

// beatPhases is "beat/phases", with the phases tied at 100% (and cheaper)
// added when there are any.
func beatPhases(g GoalRow) string {
	s := fmt.Sprintf("%d/%d", g.PhasesBeat, g.Phases)
	if g.PhasesTied > 0 {
		s += fmt.Sprintf(" (+%d both 100%%, cheaper)", g.PhasesTied)
	}
	return s
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}

// Write writes results.txt and the plots into dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.txt"), []byte(r.Text()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pareto.svg"), []byte(r.ParetoSVG()), 0o644); err != nil {
		return err
	}
	for i, tr := range r.Traces {
		name := "series-" + slug(tr.Name) + ".svg"
		if err := os.WriteFile(filepath.Join(dir, name), []byte(r.SeriesSVG(i)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, s)
}
