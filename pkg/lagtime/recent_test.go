package lagtime

import (
	"math"
	"strings"
	"testing"
	"time"
)

var tr0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// spikes returns marks every 5 s up to end seconds: 10/s, and 150/s for
// 60 s from each start.
func spikes(end int, starts ...int) []Arrival {
	var r Recent
	total := int64(0)
	for s := 0; s <= end; s++ {
		if s%5 == 0 {
			r = r.Add(tr0.Add(time.Duration(s)*time.Second), total, false)
		}
		rate := int64(10)
		for _, st := range starts {
			if s >= st && s < st+60 {
				rate = 150
			}
		}
		total += rate
	}
	return r.Marks()
}

func TestRecentAdd(t *testing.T) {
	at := func(s int) time.Time { return tr0.Add(time.Duration(s) * time.Second) }
	var r Recent
	r = r.Add(at(0), 0, false).Add(at(5), 50, false)
	// 2 and 4 are closer than RecentSpacing to 0: 4 replaces 2; 6 is not.
	r2 := Recent{}.Add(at(0), 0, false).Add(at(2), 20, false).Add(at(4), 40, false)
	if m := r2.Marks(); len(m) != 2 || m[1].Total != 40 {
		t.Errorf("spacing: %+v", m)
	}
	if m := recentMarks(r2.Add(at(6), 60, false)); len(m) != 3 {
		t.Errorf("spacing: %+v", m)
	}
	if m := r.Marks(); len(m) != 2 || m[1].Total != 50 {
		t.Errorf("Add changed its receiver: %+v", m)
	}
	if m := recentMarks(r.Add(at(5), 99, false)); len(m) != 2 || m[1].Total != 50 {
		t.Errorf("a mark not after the newest is ignored: %+v", m)
	}
	if m := recentMarks(r.Add(at(10), 40, false)); len(m) != 1 || m[0].Total != 40 {
		t.Errorf("backwards restarts: %+v", m)
	}
	if m := recentMarks(r.Add(at(10), 100, true)); len(m) != 1 {
		t.Errorf("shape change restarts: %+v", m)
	}
	long := Recent{}
	for s := 0; s <= 2*int(RecentKeep.Seconds()); s += 5 {
		long = long.Add(at(s), int64(s), false)
	}
	m := long.Marks()
	if span := m[len(m)-1].Time.Sub(m[0].Time); span > RecentKeep || len(m) > int(RecentKeep/RecentSpacing)+1 {
		t.Errorf("kept %v in %d marks, want at most %v", span, len(m), RecentKeep)
	}
}

// TestBurstFloor: 60 s at 150/s recurring, goal 72 s (90 s at 80%), a
// scale-up 40 s: 150*100/172 = 87.2/s, only once a second burst is seen;
// held at full while any of the last burst is within the horizon.
func TestBurstFloor(t *testing.T) {
	goal, s := 72*time.Second, 40*time.Second
	want := 150.0 * 100 / 172
	for _, tc := range []struct {
		name  string
		marks []Arrival
		want  float64
	}{
		{"one burst says nothing", spikes(400, 120), 0},
		{"second burst", spikes(500, 120, 360), want},
		// At 700 the horizon starts at 400, inside the burst of 360-420.
		{"burst cut by the horizon counts whole", spikes(700, 120, 360), want},
		// At 760 the burst has left the horizon: 10/s*(d+40)/(d+112) at most.
		{"burst left the horizon", spikes(760, 120, 360), 10},
		{"no marks", nil, 0},
	} {
		got := BurstFloor(tc.marks, goal, s)
		if tc.want == 10 {
			if got <= 0 || got >= 10 {
				t.Errorf("%s: %v, want below the 10/s baseline", tc.name, got)
			}
			continue
		}
		if math.Abs(got-tc.want) > 0.5 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if BurstFloor(spikes(500, 120, 360), 0, s) != 0 {
		t.Error("goal 0: want 0")
	}
}

func TestRecurring(t *testing.T) {
	if Recurring(spikes(400, 120)) || !Recurring(spikes(500, 120, 360)) {
		t.Error("one spike recurs, or two do not")
	}
	// Noise around half the peak is not a second burst: 100/s with dips
	// to 45/s (below half, above a quarter).
	var r Recent
	total := int64(0)
	for s := 0; s <= 300; s += 5 {
		r = r.Add(tr0.Add(time.Duration(s)*time.Second), total, false)
		rate := int64(100)
		if s%20 == 0 {
			rate = 45
		}
		total += 5 * rate
	}
	if Recurring(r.Marks()) {
		t.Error("noise counted as bursts")
	}
}

// TestDrainReplicasBurstFloor: with recurring bursts the law keeps 6
// through a burst they absorb and scales down to them, not to 1.
func TestDrainReplicasBurstFloor(t *testing.T) {
	g := Goal{Latency: 90 * time.Second, Partitions: 12, Start: 30 * time.Second, Pause: 10 * time.Second}
	hist := spikes(600, 120, 360)[:len(spikes(600, 120, 360))-2] // before the third burst's 10th second
	during := Backlog{Lag: 1400, Age: 10 * time.Second, ProduceRate: 150, PerConsumerRate: 20, Consumers: 6}
	rising := Backlog{Lag: 300, Age: 5 * time.Second, ProduceRate: 30, LatestProduceRate: 150, LatestKnown: true, PerConsumerRate: 20, Consumers: 1}
	after := Backlog{Lag: 0, ProduceRate: 10, LatestProduceRate: 10, LatestKnown: true, PerConsumerRate: 20, Consumers: 12}
	for _, tc := range []struct {
		name   string
		b      Backlog
		recent []Arrival
		want   int
		reason string
	}{
		{"burst, no history: every partition", during, nil, 12, "every partition"},
		{"burst like the recent ones: keep 6", during, hist, 6, "absorbs a burst"},
		// 6000 behind: 6000 + 30*40 = 7200 drains in 60 s at 120/s if the
		// burst ends, but in 80 s > 72 s at 240-150/s if it goes on.
		{"a longer burst still scales up", Backlog{Lag: 6000, Age: 40 * time.Second, ProduceRate: 150, PerConsumerRate: 20, Consumers: 6}, hist, 12, "every partition"},
		// The smoothed rate trails the step (30/s of the burst's 150/s);
		// with bursts recurring the latest interval's rate sizes the
		// scale-up in one step, not one per HPA sync as the average rises.
		{"burst starts, no history: the smoothed rate", rising, nil, 2, "fewest that meet the goal"},
		{"burst starts, recurring: the latest rate, one step", rising, hist, 12, "every partition"},
		{"after a burst, no history: down to 1", after, nil, 1, "within 80%"},
		// 80% of 6's 120/s is 96 >= 87.2; 4's 80/s is not.
		{"after a burst, recurring: down to 6", after, hist, 6, "within 80%"},
	} {
		b := tc.b
		b.Recent = tc.recent
		n, ok, why := DrainReplicas(b, g)
		if n != tc.want || !ok || !strings.Contains(why, tc.reason) {
			t.Errorf("%s: %d %v %q, want %d containing %q", tc.name, n, ok, why, tc.want, tc.reason)
		}
	}
}

func recentMarks(r Recent) []Arrival { return r.Marks() }
