package serving

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
)

// Seeds is how many seeds each trace is replayed with (the trace's seed,
// then seed+1000, seed+2000): one draw of Poisson arrivals and lognormal
// lengths can flatter or wrong a policy by a few points.
const Seeds = 3

// RunSeeds replays tr under p once per seed, concurrently (each run has
// its own fleet, policy and servers), and averages: attainment, replicas
// and scale events are means over the seeds, requests and preemptions
// sums, the peak the highest; the series is the first seed's.
func RunSeeds(tr *Trace, p Policy) (Outcome, error) {
	outs := make([]Outcome, Seeds)
	errs := make([]error, Seeds)
	var wg sync.WaitGroup
	for i := range Seeds {
		c := *tr
		c.Seed = tr.Seed + uint64(1000*i)
		wg.Go(func() { outs[i], errs[i] = Run(&c, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Outcome{}, err
	}
	m := outs[0]
	m.Requests, m.Preemptions, m.Attainment, m.TTFTOK, m.TPOTOK, m.AvgReplicas = 0, 0, 0, 0, 0, 0
	events := 0
	for _, o := range outs {
		m.Requests += o.Requests
		m.Preemptions += o.Preemptions
		m.Attainment += o.Attainment / Seeds
		m.TTFTOK += o.TTFTOK / Seeds
		m.TPOTOK += o.TPOTOK / Seeds
		m.AvgReplicas += o.AvgReplicas / Seeds
		events += o.ScaleEvents
		m.Peak = max(m.Peak, o.Peak)
	}
	m.ScaleEvents = (events + Seeds/2) / Seeds
	return m, nil
}

// RunAll replays every trace under every policy (RunSeeds), in order.
func RunAll(trs []*Trace) ([]Outcome, error) {
	var out []Outcome
	for _, tr := range trs {
		for _, p := range Policies() {
			o, err := RunSeeds(tr, p)
			if err != nil {
				return nil, fmt.Errorf("trace %s: %w", tr.Name, err)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// Table writes one line per trace and policy.
func Table(w io.Writer, trs []*Trace, outs []Outcome) {
	goals := map[string]string{}
	for _, tr := range trs {
		goals[tr.Name] = fmt.Sprintf("%s (TTFT %s, TPOT %s)", tr.Name, tr.Goal.TTFT, tr.Goal.TPOT)
	}
	fmt.Fprintf(w, "%-52s %-16s %7s %6s %6s %8s %6s %4s %8s %7s\n",
		"trace (goals)", "policy", "slo%", "ttft%", "tpot%", "avg-rep", "scales", "peak", "requests", "preempt")
	prev := ""
	for _, o := range outs {
		name := goals[o.Trace]
		if name == prev {
			name = ""
		} else {
			prev = name
		}
		fmt.Fprintf(w, "%-52s %-16s %7.1f %6.1f %6.1f %8.2f %6d %4d %8d %7.0f\n",
			name, o.Policy, o.Attainment, o.TTFTOK, o.TPOTOK, o.AvgReplicas, o.ScaleEvents, o.Peak, o.Requests, o.Preemptions)
	}
}

// Goal is one of the goals checked on one trace.
type Goal struct {
	Trace, What string
	Met         bool
	Detail      string
}

// Goals checks, per trace: Tide's attainment is at least the llm-d rule's
// at no more than 0.9× its average replicas; and on the steady and bursty
// traces (names starting so), Tide's attainment is at least 97 %.
func Goals(outs []Outcome) []Goal {
	by := map[string]map[string]Outcome{}
	var order []string
	for _, o := range outs {
		if by[o.Trace] == nil {
			by[o.Trace] = map[string]Outcome{}
			order = append(order, o.Trace)
		}
		by[o.Trace][o.Policy] = o
	}
	ref, tide := refAndTide()
	var gs []Goal
	for _, t := range order {
		r, okR := by[t][ref]
		d, okT := by[t][tide]
		if !okR || !okT {
			continue
		}
		gs = append(gs, Goal{Trace: t, What: "tide slo% >= llmd slo% at <= 0.9x its avg replicas",
			Met:    d.Attainment >= r.Attainment && d.AvgReplicas <= 0.9*r.AvgReplicas,
			Detail: fmt.Sprintf("%.1f%% at %.2f vs %.1f%% at %.2f (ratio %.2f)", d.Attainment, d.AvgReplicas, r.Attainment, r.AvgReplicas, d.AvgReplicas/r.AvgReplicas)})
		if strings.HasPrefix(t, "steady") || strings.HasPrefix(t, "bursty") {
			gs = append(gs, Goal{Trace: t, What: "tide slo% >= 97", Met: d.Attainment >= 97, Detail: fmt.Sprintf("%.1f%%", d.Attainment)})
		}
	}
	return gs
}

func refAndTide() (ref, tide string) {
	for _, p := range Policies() {
		if p.Reference {
			ref = p.Name
		}
		if p.Tide {
			tide = p.Name
		}
	}
	return ref, tide
}

// WriteGoals writes the goals check.
func WriteGoals(w io.Writer, gs []Goal) {
	for _, g := range gs {
		mark := "MET    "
		if !g.Met {
			mark = "NOT MET"
		}
		fmt.Fprintf(w, "%s  %-22s %-52s %s\n", mark, g.Trace, g.What, g.Detail)
	}
}

// Report is the table, then the goals check, as results.txt holds them.
func Report(w io.Writer, trs []*Trace, outs []Outcome) {
	fmt.Fprintf(w, "means over %d seeds per trace (requests and preemptions: sums; peak: the highest)\n", Seeds)
	Table(w, trs, outs)
	fmt.Fprintln(w)
	WriteGoals(w, Goals(outs))
}

// Files are the committed results of a run by name: results.txt and one
// series-<trace>.svg per trace.
func Files(trs []*Trace, outs []Outcome) (map[string][]byte, error) {
	files := map[string][]byte{}
	var b bytes.Buffer
	Report(&b, trs, outs)
	files["results.txt"] = bytes.Clone(b.Bytes())
	for _, tr := range trs {
		b.Reset()
		if err := SVG(&b, tr, outs); err != nil {
			return nil, err
		}
		files["series-"+slug(tr.Name)+".svg"] = bytes.Clone(b.Bytes())
	}
	return files, nil
}

// slug is name in lower case with every run of other characters than
// letters and digits as one '-'.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
