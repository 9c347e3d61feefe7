package lagtime

import (
	"testing"
	"time"
)

func TestLatestProduceRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := Observation{Time: t0, Produced: 1000, Shape: 1}
	at := func(d time.Duration, produced int64, shape uint64) Observation {
		return Observation{Time: t0.Add(d), Produced: produced, Shape: shape}
	}
	for _, tc := range []struct {
		name string
		o    Observation
		rate float64
		ok   bool
	}{
		{"2 s, 100 messages", at(2*time.Second, 1100, 1), 50, true},
		{"idle", at(2*time.Second, 1000, 1), 0, true},
		{"no time", at(0, 1100, 1), 0, false},
		{"clock back", at(-time.Second, 1100, 1), 0, false},
		{"gap beyond MaxGap", at(DefaultMaxGap+time.Second, 1100, 1), 0, false},
		{"partition set changed", at(2*time.Second, 1100, 2), 0, false},
		{"log end backwards", at(2*time.Second, 900, 1), 0, false},
	} {
		if rate, ok := LatestProduceRate(prev, tc.o); rate != tc.rate || ok != tc.ok {
			t.Errorf("%s: got %v %v, want %v %v", tc.name, rate, ok, tc.rate, tc.ok)
		}
	}
}

// TestHeldMembers: a rebalance's zero is bridged with the last count for
// MemberHold, no longer; a real count always wins.
func TestHeldMembers(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var h HeldMembers
	steps := []struct {
		at       time.Duration
		seen     int
		wantHeld int
	}{
		{0, 0, 0},                          // nothing seen yet
		{2 * time.Second, 6, 6},            // a count
		{4 * time.Second, 0, 6},            // rebalance: held
		{4*time.Second + MemberHold, 0, 0}, // held no longer than MemberHold
		{70 * time.Second, 12, 12},         // back
		{72 * time.Second, 3, 3},           // a smaller real count wins
		{74 * time.Second, 0, 3},
		{71 * time.Second, 0, 0}, // before the count was seen: not held
	}
	for i, s := range steps {
		var got int
		h, got = h.Observe(t0.Add(s.at), s.seen)
		if got != s.wantHeld {
			t.Errorf("step %d (%v, seen %d): held %d, want %d", i, s.at, s.seen, got, s.wantHeld)
		}
	}
}
