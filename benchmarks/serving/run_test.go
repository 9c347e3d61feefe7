package serving

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"
)

func mustParse(t *testing.T, js string) *Trace {
	t.Helper()
	tr, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

const shortSteady = `{"name": "short steady", "seconds": 420, "seed": 7,
  "goal": {"ttft": "p98:1s", "tpot": "p98:50ms"},
  "fleet": {"initial": 4, "max": 12, "startSeconds": 30},
  "kpaConcurrency": 16,
  "rates": [{"at": 0, "rps": 30}],
  "mix": [{"weight": 1, "prompt": 600, "output": 250}]}`

// TestTidePolicyRunsTheRealTrigger: the tide-goal policy's decisions come
// from the inference trigger's upstream scraping the pods over HTTP: a
// short steady run that starts short of pods ends with the latency goal
// in force (the decision part says so and names the learned capacity)
// and the fleet down to the size the load needs.
func TestTidePolicyRunsTheRealTrigger(t *testing.T) {
	tr := mustParse(t, shortSteady)
	var p Policy
	for _, q := range Policies() {
		if q.Tide {
			p = q
		}
	}
	sc, err := p.build(tr)
	if err != nil {
		t.Fatal(err)
	}
	td := sc.(*tide)
	p.build = func(*Trace) (scaler, error) { return td, nil }
	o, err := Run(tr, p)
	if err != nil {
		t.Fatal(err)
	}
	parts := td.last.Parts
	if len(parts) < 2 || parts[0].Name != "decision" || !strings.HasPrefix(parts[0].Info, "latency goal:") {
		t.Fatalf("last decision %+v; want the latency goal in force", parts[:min(2, len(parts))])
	}
	if parts[1].Name != "slo/ttft" || !strings.Contains(parts[1].Info, "learned prefill capacity") {
		t.Errorf("slo/ttft %+v; want the learned capacity", parts[1])
	}
	t.Logf("%+v; %s", o, parts[0].Info)
	if end := o.Series[len(o.Series)-1]; o.Attainment < 90 || end > 7 {
		t.Errorf("attainment %.1f%%, %d pods at the end; want >= 90%% and at most 7 (6 suffice at 30 req/s)", o.Attainment, end)
	}
}

// TestRunsAreDeterministic: the same trace and policy give the same
// outcome (seeded arrivals, no wall clock): what lets the committed
// results be checked against a fresh run.
func TestRunsAreDeterministic(t *testing.T) {
	tr := mustParse(t, shortSteady)
	for _, p := range Policies() {
		a, err := Run(tr, p)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Run(tr, p)
		if err != nil {
			t.Fatal(err)
		}
		var x, y bytes.Buffer
		Table(&x, []*Trace{tr}, []Outcome{a})
		Table(&y, []*Trace{tr}, []Outcome{b})
		if x.String() != y.String() {
			t.Errorf("%s: two runs differ:\n%s%s", p.Name, x.String(), y.String())
		}
	}
}

// TestGoalsCheck: the goals compare Tide with the llm-d rule per trace and
// ask 97 % on the steady and bursty traces only.
func TestGoalsCheck(t *testing.T) {
	outs := []Outcome{
		{Trace: "steady x", Policy: "llmd-slo", Attainment: 95, AvgReplicas: 10},
		{Trace: "steady x", Policy: "tide-goal", Attainment: 97.5, AvgReplicas: 9},
		{Trace: "rag", Policy: "llmd-slo", Attainment: 95, AvgReplicas: 10},
		{Trace: "rag", Policy: "tide-goal", Attainment: 96, AvgReplicas: 9.1},
	}
	gs := Goals(outs)
	if len(gs) != 3 || !gs[0].Met || !gs[1].Met || gs[2].Met {
		t.Errorf("goals %+v; want steady: both met; rag: replicas 0.91x not met, no 97%% goal", gs)
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		strings.Replace(shortSteady, `"p98:1s"`, `"98:1s"`, 1),
		strings.Replace(shortSteady, `"p98:1s"`, `"p98:soon"`, 1),
		strings.Replace(shortSteady, `"initial": 4`, `"initial": 0`, 1),
		strings.Replace(shortSteady, `"kpaConcurrency": 16`, `"kpaConcurrency": 0`, 1),
		strings.Replace(shortSteady, `"seed": 7`, `"seed": 7, "extra": 1`, 1),
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse accepted %s", bad)
		}
	}
	trs, err := Load("traces")
	if err != nil || len(trs) != 5 {
		t.Fatalf("Load(traces): %d traces, %v; want the 5 committed", len(trs), err)
	}
}

// TestRunSeedsAverages: RunSeeds is the mean of the runs at the trace's
// seed, seed+1000 and seed+2000 (attainment, replicas), their sum
// (requests) and the first run's series.
func TestRunSeedsAverages(t *testing.T) {
	tr := mustParse(t, shortSteady)
	p := Policies()[1] // the KPA: no servers, quick
	got, err := RunSeeds(tr, p)
	if err != nil {
		t.Fatal(err)
	}
	var att, rep float64
	var reqs int
	var first Outcome
	for i := range Seeds {
		c := *tr
		c.Seed = tr.Seed + uint64(1000*i)
		o, err := Run(&c, p)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = o
		}
		att, rep, reqs = att+o.Attainment/Seeds, rep+o.AvgReplicas/Seeds, reqs+o.Requests
	}
	if math.Abs(got.Attainment-att) > 1e-9 || math.Abs(got.AvgReplicas-rep) > 1e-9 || got.Requests != reqs || !slices.Equal(got.Series, first.Series) {
		t.Errorf("RunSeeds %.4f%% %.4f pods %d requests; want the means %.4f%% %.4f, the sum %d, the first series", got.Attainment, got.AvgReplicas, got.Requests, att, rep, reqs)
	}
}

// breakOne closes one pod's metrics server at 60 s.
type breakOne struct{ *tide }

func (b breakOne) step(v *view) (int, bool) {
	if v.now == 60 {
		for _, s := range b.slots {
			s.srv.Close()
			break
		}
	}
	return b.tide.step(v)
}

// TestAFailedScrapeVoidsTheRun: every simulated pod answers, so a scrape
// that fails is the machine, and it would change Tide's decisions (no
// capacity, scale-down held): the run fails instead of reporting them.
func TestAFailedScrapeVoidsTheRun(t *testing.T) {
	tr := mustParse(t, shortSteady)
	tr.Seconds = 90
	p := Policies()[3]
	build := p.build
	p.build = func(tr *Trace) (scaler, error) {
		s, err := build(tr)
		if err != nil {
			return nil, err
		}
		return breakOne{s.(*tide)}, nil
	}
	_, err := Run(tr, p)
	if err == nil || !strings.Contains(err.Error(), "failed to scrape") {
		t.Errorf("Run: %v; want the failed scrape as an error", err)
	}
}
