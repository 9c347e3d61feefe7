package quality

import (
	"os"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/hpa"
)

func committed(t *testing.T) *Report {
	t.Helper()
	paths, err := TraceFiles("traces")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Evaluate(paths, Policies())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The same traces (and so the same seeds) give the same table, byte for
// byte. Two traces with spread consumer rates suffice; the committed
// results check runs them all.
func TestDeterministic(t *testing.T) {
	paths := []string{"traces/burst.json", "traces/spike-train.json"}
	run := func() string {
		r, err := Evaluate(paths, Policies())
		if err != nil {
			t.Fatal(err)
		}
		return r.Text()
	}
	if a, b := run(), run(); a != b {
		t.Errorf("two runs differ:\n%s\n---\n%s", a, b)
	}
}

// The committed results are what a fresh run prints: the numbers and the
// goals verdicts in benchmarks/results/quality come from the harness, not
// from an editor. Regenerate them with make bench-quality.
func TestCommittedResultsMatchAFreshRun(t *testing.T) {
	want, err := os.ReadFile("../results/quality/results.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := committed(t).Text(); got != string(want) {
		t.Errorf("benchmarks/results/quality/results.txt is stale; run make bench-quality. Fresh run:\n%s", got)
	}
}

// The goals verdict follows the outcomes: the same row flips when one
// number crosses its bound.
func TestCheckGoalsIsComputed(t *testing.T) {
	ps := []Policy{{Name: "keda", Baseline: true}, {Name: "tide-drain", Tide: true, Behavior: TunedBehavior()}}
	tr := &Trace{Name: "t", Bursts: 2}
	base := Outcome{Policy: "keda", Attainment: 95, ReplicaMinutes: 100, Rebalances: 8}
	good := Outcome{Policy: "tide-drain", Attainment: 96, ReplicaMinutes: 80, Rebalances: 4}
	if g := CheckGoals(tr, ps, []Outcome{base, good}); !g.Met() || !g.BeatsThreshold {
		t.Fatalf("want met and beating the threshold: %+v", g)
	}
	for name, mutate := range map[string]func(o *Outcome){
		"attainment below":      func(o *Outcome) { o.Attainment = 94.9 },
		"replica-minutes above": func(o *Outcome) { o.ReplicaMinutes = 80.1 },
		"rebalances above half": func(o *Outcome) { o.Rebalances = 5 },
	} {
		o := good
		mutate(&o)
		if g := CheckGoals(tr, ps, []Outcome{base, o}); g.Met() {
			t.Errorf("%s: still met: %+v", name, g)
		}
	}
	text := (&Report{Policies: ps, Traces: []*Trace{tr}, Outcomes: [][]Outcome{{base, good}},
		Goals: []GoalRow{CheckGoals(tr, ps, []Outcome{base, good})}}).Text()
	if !strings.Contains(text, "MET") || !strings.Contains(text, "2.0/4.0 ok") {
		t.Errorf("table does not show the verdict and rebalances per burst:\n%s", text)
	}
}

// KEDA's cap divides in integers: 10 partitions, threshold 10 and lag 105
// stay uncapped (105/10 = 10, not > 10), so the HPA asks for 11.
func TestKEDACap(t *testing.T) {
	k := kedaKafka{threshold: 10}
	v := func(lags ...int64) view {
		var out view
		for _, l := range lags {
			out.logEnd = append(out.logEnd, 1000+l)
			out.committed = append(out.committed, 1000)
		}
		return out
	}
	ten := func(total int64) view {
		lags := make([]int64, 10)
		lags[0] = total
		return v(lags...)
	}
	if got := k.totalLag(ten(105)); got != 105 {
		t.Errorf("lag 105 on 10 partitions: %d, want 105 (uncapped)", got)
	}
	if got := k.totalLag(ten(110)); got != 100 {
		t.Errorf("lag 110 on 10 partitions: %d, want 100 (capped)", got)
	}
	m := k.metric(0, ten(105))
	d := hpa.AverageValueReplicas(hpa.SumForAverageValue(m.Values), m.Target.Milli, 1, hpa.DefaultTolerances)
	if d != 11 {
		t.Errorf("HPA proposal %d, want 11", d)
	}
	if k.active(0, ten(0)) || !k.active(0, ten(1)) {
		t.Errorf("activation: want lag > activationLagThreshold (0)")
	}
}

func TestExecutorCooldown(t *testing.T) {
	x := executor{minReplicas: 0, cooldown: 300}
	if n, ok := x.step(0, false, 2); !ok || n != 0 {
		t.Errorf("never active: %d %v, want scale to 0 at once (initialCooldownPeriod 0)", n, ok)
	}
	if n, ok := x.step(30, true, 0); !ok || n != 1 {
		t.Errorf("active at 0: %d %v, want 1", n, ok)
	}
	if _, ok := x.step(300, false, 3); ok {
		t.Errorf("inactive 270 s after the last activity: scaled, want the cooldown to hold")
	}
	if n, ok := x.step(331, false, 3); !ok || n != 0 {
		t.Errorf("inactive 301 s after: %d %v, want 0", n, ok)
	}
	y := executor{minReplicas: 2, cooldown: 300}
	if n, ok := y.step(0, false, 1); !ok || n != 2 {
		t.Errorf("below minReplicaCount: %d %v, want 2", n, ok)
	}
}
