package trigger

import (
	"slices"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// TestDescribeLeavesTheLatch: Describe evaluates a sample like Evaluate
// (value, replicas) but reports the latch's state instead of stepping it,
// so a face that only looks cannot activate or deactivate a workload.
func TestDescribeLeavesTheLatch(t *testing.T) {
	tr, err := registry().Parse(md("target", "5", "metricMode", "replicas"))
	if err != nil {
		t.Fatal(err)
	}
	busy := sources.Sample{Time: t0, Value: 23, Activity: 23}
	if r := tr.Describe(busy); r.Active || r.Value != 5 || r.Measurement.Replicas != 5 {
		t.Errorf("Describe(23) of an inactive trigger = %+v; want inactive, value 5 (replicas), 5 replicas", r)
	}
	if active, _ := tr.Active(); active {
		t.Fatal("Describe activated the trigger")
	}
	tr.Evaluate(busy)
	idle := sources.Sample{Time: t0.Add(time.Second)}
	if r := tr.Describe(idle); !r.Active || r.Value != 0 {
		t.Errorf("Describe(0) of an active trigger = %+v; want still active (the latch's), value 0", r)
	}
	if active, _ := tr.Active(); !active {
		t.Error("Describe deactivated the trigger")
	}
}

// TestCacheTriggersListsWithoutUse: Triggers lists every trigger held and
// does not mark them used, so a status page cannot keep them from the sweep.
func TestCacheTriggersListsWithoutUse(t *testing.T) {
	c := newCache(newReader(), 0)
	defer c.Close()
	var want []*Trigger
	for _, q := range []string{"a", "b", "c"} {
		tr, err := c.Get(md("queue", q), t0)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tr)
	}
	got := c.Triggers()
	if len(got) != 3 {
		t.Fatalf("Triggers() = %d triggers; want 3", len(got))
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("Triggers() misses %s", w.MetricName())
		}
	}
	if left := c.Sweep(t0.Add(time.Nanosecond), nil); left != 0 || len(c.Triggers()) != 0 {
		t.Errorf("after listing, a sweep past their last use left %d; want 0", left)
	}
}
