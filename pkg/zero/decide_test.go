package zero

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestDecide(t *testing.T) {
	const cooldown = 5 * time.Minute
	seen := func(ago time.Duration) State { return State{LastActive: t0.Add(-ago)} }
	cases := []struct {
		name     string
		st       State
		active   bool
		current  int32
		cooldown time.Duration
		want     int32
		wantLast time.Time
		reason   string
	}{
		{name: "active at zero scales from zero", st: seen(time.Hour), active: true, current: 0,
			want: 1, wantLast: t0, reason: "active at 0"},
		{name: "active at zero with no history", active: true, current: 0,
			want: 1, wantLast: t0, reason: "active at 0"},
		{name: "active at one stays", st: seen(time.Hour), active: true, current: 1,
			want: 1, wantLast: t0, reason: "HPA owns"},
		{name: "active at many is the HPA's", active: true, current: 7,
			want: 7, wantLast: t0, reason: "HPA owns"},
		{name: "inactive at zero stays", st: seen(time.Hour), current: 0,
			want: 0, wantLast: t0.Add(-time.Hour), reason: "inactive at 0"},
		{name: "inactive at one within cooldown stays", st: seen(4 * time.Minute), current: 1,
			want: 1, wantLast: t0.Add(-4 * time.Minute), reason: "inactive for 4m0s < cooldown 5m0s"},
		{name: "inactive at one exactly at cooldown scales to zero", st: seen(cooldown), current: 1,
			want: 0, wantLast: t0.Add(-cooldown), reason: "inactive for 5m0s >= cooldown 5m0s"},
		{name: "inactive at one past cooldown scales to zero", st: seen(time.Hour), current: 1,
			want: 0, wantLast: t0.Add(-time.Hour), reason: "inactive for 1h0m0s >= cooldown"},
		{name: "inactive at one with no history starts the cooldown", current: 1,
			want: 1, wantLast: t0, reason: "inactive for 0s < cooldown"},
		{name: "inactive at many is the HPA's even past cooldown", st: seen(time.Hour), current: 3,
			want: 3, wantLast: t0.Add(-time.Hour), reason: "HPA owns"},
		{name: "zero cooldown scales to zero at once", st: seen(time.Second), current: 1, cooldown: -1,
			want: 0, wantLast: t0.Add(-time.Second), reason: "inactive for 1s >= cooldown 0s"},
		{name: "clock behind last activity stays", st: seen(-time.Minute), current: 1,
			want: 1, wantLast: t0.Add(time.Minute), reason: "< cooldown"},
		{name: "negative replicas left alone", st: seen(time.Hour), current: -1,
			want: -1, wantLast: t0.Add(-time.Hour), reason: "invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cd := c.cooldown
			if cd == 0 {
				cd = cooldown
			}
			got, st, reason := Decide(t0, c.st, c.active, c.current, cd)
			if got != c.want || !st.LastActive.Equal(c.wantLast) || !strings.Contains(reason, c.reason) {
				t.Errorf("Decide = %d, last %s, %q; want %d, last %s, reason containing %q",
					got, st.LastActive, reason, c.want, c.wantLast, c.reason)
			}
		})
	}
}

// TestDecideSequence runs one target through a burst and the quiet after
// it, as the controller would, one call per interval.
func TestDecideSequence(t *testing.T) {
	const cooldown = time.Minute
	var st State
	current := int32(0)
	now := t0
	step := func(active bool, hpa int32) int32 {
		if hpa > 0 && current > 0 {
			current = hpa // the HPA moved the count between calls
		}
		current, st, _ = Decide(now, st, active, current, cooldown)
		now = now.Add(10 * time.Second)
		return current
	}
	for i, s := range []struct {
		active bool
		hpa    int32
		want   int32
	}{
		{false, 0, 0}, {true, 0, 1}, {true, 4, 4}, {false, 4, 4}, {false, 2, 2},
		{false, 1, 1}, {false, 1, 1}, {false, 1, 1}, {false, 1, 0}, {false, 0, 0}, {true, 0, 1},
	} {
		if got := step(s.active, s.hpa); got != s.want {
			t.Fatalf("step %d (active %v, hpa %d): replicas %d, want %d", i, s.active, s.hpa, got, s.want)
		}
	}
}
