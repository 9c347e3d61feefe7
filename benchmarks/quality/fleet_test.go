package quality

import (
	"math"
	"slices"
	"testing"
)

// testTrace is a valid trace for the model tests: partitions partitions,
// total messages/s spread evenly, pods of 20/s without spread, a 30 s start
// and a 10 s rebalance.
func testTrace(partitions int, total float64) *Trace {
	return &Trace{
		Name: "test", GoalSeconds: 60, DurationSeconds: 600, Partitions: partitions,
		Rates: []RatePoint{{At: 0, Total: &total}},
		Fleet: FleetSpec{ConsumerRate: 20, PodStartSeconds: 30, RebalanceSeconds: ptr(10.0),
			CommitIntervalSeconds: 5, InitialReplicas: 1, MinReplicas: 1, MaxReplicas: partitions, Seed: 1},
		Scaler: Scaler{LagThreshold: 100},
	}
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

func TestRebalancePauseStopsConsumption(t *testing.T) {
	f := NewFleet(testTrace(4, 60)) // 60/s against one pod of 20/s: always a backlog
	for now := range 10 {
		f.Tick(now)
	}
	f.Scale(10, 2) // the new pod joins at 40
	var before float64
	for now := 10; now < 60; now++ {
		if now == 40 {
			before = sum(f.consumed)
		}
		f.Tick(now)
		switch {
		case now >= 40 && now < 50:
			if got := sum(f.consumed); got != before {
				t.Fatalf("second %d: consumed %v during the rebalance pause, want it stopped at %v", now, got, before)
			}
			if !f.Paused(now) {
				t.Fatalf("second %d: not paused", now)
			}
		case now >= 50:
			if got := sum(f.consumed); got <= before {
				t.Fatalf("second %d: consumption did not resume after the pause", now)
			}
		}
	}
	if f.Rebalances() != 1 {
		t.Errorf("rebalances = %d, want 1 (the join)", f.Rebalances())
	}
	// Work consumed before the pause was committed when the partitions
	// were revoked.
	for p := range f.committed {
		if f.committed[p] < f.consumed[p]-60 {
			t.Errorf("partition %d committed %v far behind consumed %v", p, f.committed[p], f.consumed[p])
		}
	}
}

func TestPodStartDelay(t *testing.T) {
	f := NewFleet(testTrace(4, 10))
	f.Scale(5, 3)
	for now := 5; now < 40; now++ {
		f.Tick(now)
		if got := f.Started(now); now < 35 && got != 1 {
			t.Fatalf("second %d: %d pods started, want 1 until 35 (30 s start)", now, got)
		}
		if f.Pods() != 3 {
			t.Fatalf("second %d: %d pods exist, want 3 from the scale-up on", now, f.Pods())
		}
	}
	if f.Started(35) != 3 || f.Members() != 3 || f.Rebalances() != 1 {
		t.Errorf("at 35: started %d, members %d, rebalances %d; want 3, 3, 1 (both pods join together)",
			f.Started(35), f.Members(), f.Rebalances())
	}
	// A scale-down removes a pod that has not started before one that has.
	f.Scale(40, 4)
	f.Scale(41, 3)
	if f.Started(41) != 3 {
		t.Errorf("scale-down removed a started pod first")
	}
}

func TestRangeAssignment(t *testing.T) {
	count := func(owner []int, n int) []int {
		c := make([]int, n)
		for _, o := range owner {
			if o >= 0 {
				c[o]++
			}
		}
		return c
	}
	tests := []struct {
		parts, members int
		want           []int
	}{
		{12, 4, []int{3, 3, 3, 3}},
		{12, 5, []int{3, 3, 2, 2, 2}},
		{12, 7, []int{2, 2, 2, 2, 2, 1, 1}},
		{3, 5, []int{1, 1, 1, 0, 0}}, // members beyond the partitions idle
	}
	for _, tt := range tests {
		if got := count(rangeAssign(tt.parts, tt.members), tt.members); !slices.Equal(got, tt.want) {
			t.Errorf("rangeAssign(%d, %d) partitions per member = %v, want %v", tt.parts, tt.members, got, tt.want)
		}
	}
	if got := rangeAssign(2, 0); !slices.Equal(got, []int{-1, -1}) {
		t.Errorf("no members: %v, want every partition unowned", got)
	}
}

// With 5 consumers on 10 partitions at 60/s each member keeps up; on 12
// partitions the two members with 3 fall behind while those with 2 keep
// up: uneven assignment shows in the age, not only in the totals.
func TestUnevenAssignmentLeavesBusiestBehind(t *testing.T) {
	tr := testTrace(12, 96) // 8/s a partition: 24/s on 3 partitions, 16/s on 2, pods of 20/s
	tr.Fleet.InitialReplicas = 5
	f := NewFleet(tr)
	for now := range 120 {
		f.Tick(now)
	}
	if a := f.Age(0, 119); a < 10 {
		t.Errorf("partition 0 (member 0, 3 partitions) age %.1fs, want it behind", a)
	}
	if a := f.Age(11, 119); a > 1 {
		t.Errorf("partition 11 (member 4, 2 partitions) age %.1fs, want it caught up", a)
	}
}

func TestAgeAndStall(t *testing.T) {
	tr := testTrace(2, 10)
	tr.Stalls = []Stall{{Partition: 1, From: 20, To: 80}}
	tr.Fleet.InitialReplicas = 2
	f := NewFleet(tr)
	for now := range 80 {
		f.Tick(now)
	}
	// Partition 1's consumer has done nothing since 20: its oldest message
	// arrived in second 20, 60 s before the end of second 79.
	if a := f.Age(1, 79); math.Abs(a-60) > 0.5 {
		t.Errorf("stalled partition age %.2fs, want 60", a)
	}
	if a := f.Age(0, 79); a != 0 {
		t.Errorf("healthy partition age %.2fs, want 0", a)
	}
	if got := f.MaxAge(79); math.Abs(got-60) > 0.5 {
		t.Errorf("MaxAge %.2f, want 60", got)
	}
}

// TestConsumeFirst: by default a second's arrivals are consumed within it,
// so a fleet with capacity to spare shows no lag at a commit; with
// consumeFirst (the demo's fleet: consumers work a tick, then the producer
// produces) a read between ticks sees the last second's production.
func TestConsumeFirst(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first bool
		want  int64
	}{
		{"within the second", false, 0},
		{"consume first", true, 12},
	} {
		tr := testTrace(4, 12) // 3/s per partition for one pod of 20/s
		tr.Fleet.CommitIntervalSeconds, tr.Fleet.ConsumeFirst = 1, tc.first
		f := NewFleet(tr)
		var lag int64
		for now := range 20 {
			f.Tick(now)
			lag = 0
			for p := range 4 {
				end, committed := f.Offsets(p)
				lag += end - committed
			}
		}
		if lag != tc.want {
			t.Errorf("%s: lag %d after 20 s at 12/s, want %d", tc.name, lag, tc.want)
		}
	}
}
