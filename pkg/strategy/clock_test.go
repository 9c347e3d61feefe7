package strategy

import (
	"testing"
	"time"
)

// The Latch is stepped with each sample's time, which the engine takes from
// its clock. These tests step it across hour-sized jumps of that clock.
// (In production the clock is time.Now, whose monotonic reading makes
// Step's ordering immune to wall-clock steps; an injected clock has none.)

// TestLatchClockJumpForward: a forward jump is time passing: the minimum
// active duration has run out and the next idle sample deactivates.
func TestLatchClockJumpForward(t *testing.T) {
	a := Activation{On: 5, Off: 1, MinActive: 5 * time.Minute}
	t0 := time.Unix(1_800_000_000, 0)
	var l Latch
	if !l.Step(a, t0, 10, false) {
		t.Fatal("not activated")
	}
	if !l.Step(a, t0.Add(time.Second), 0, false) {
		t.Fatal("deactivated within MinActive")
	}
	if l.Step(a, t0.Add(time.Hour), 0, false) {
		t.Error("still active an hour later with no activity")
	}
	if !l.Step(a, t0.Add(time.Hour+time.Second), 10, false) {
		t.Error("not reactivated after the jump")
	}
}

// TestLatchClockJumpBack: after the clock goes back an hour, samples are
// older than the newest one applied and change nothing (Step's ordering
// rule) — but only until the clock passes that sample again: the latch
// neither panics nor stays held forever, and the first sample after that
// point deactivates (or activates) as usual. The hold lasts as long as the
// jump, which is the price of ordering by sample time with a clock that
// has no monotonic reading.
func TestLatchClockJumpBack(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name    string
		a       Activation
		start   float64 // activity before the jump
		after   float64 // activity after it
		startOn bool
		finalOn bool
	}{
		{"active, then idle", Activation{On: 5, Off: 1, MinActive: time.Minute}, 10, 0, true, false},
		{"idle, then busy", Activation{On: 5, Off: 1}, 0, 10, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l Latch
			if got := l.Step(tc.a, t0, tc.start, false); got != tc.startOn {
				t.Fatalf("before the jump: active = %v", got)
			}
			// One sample every 10 s on a clock one hour behind.
			back := t0.Add(-time.Hour)
			flipped := time.Time{}
			for s := back; s.Before(t0.Add(5 * time.Minute)); s = s.Add(10 * time.Second) {
				if got := l.Step(tc.a, s, tc.after, false); got == tc.finalOn && flipped.IsZero() {
					flipped = s
				}
			}
			if flipped.IsZero() {
				t.Fatalf("the latch never applied a sample after the clock went back an hour")
			}
			if limit := t0.Add(tc.a.MinActive + 10*time.Second); flipped.After(limit) {
				t.Errorf("changed at %s after the jump; want by the first sample past the old one (+%s)",
					flipped.Sub(back), limit.Sub(back))
			}
			if got, _ := l.Active(); got != tc.finalOn {
				t.Errorf("finally active = %v, want %v", got, tc.finalOn)
			}
		})
	}
}

// TestLatchClockJumpUnknown: the grace for unknown samples across jumps of
// the clock. Forward is time passing: a run of unknown samples that spans
// the jump has outlasted the grace, and one that starts after it starts
// its grace there. Back: samples older than the newest applied change
// nothing (as in TestLatchClockJumpBack), so the run and its grace go on
// from where they were once the clock passes that sample again; an unknown
// sample never activates on either side.
func TestLatchClockJumpUnknown(t *testing.T) {
	grace := Activation{UnknownGrace: time.Minute}
	for _, tc := range []struct {
		name  string
		steps []unknownStep
	}{
		{"forward within a run: the grace has run out", []unknownStep{
			{0, 3, known, true}, {10, 0, unknown, true}, {3610, 0, unknown, false}}},
		{"forward before a run: the grace starts at its first sample", []unknownStep{
			{0, 3, known, true}, {3600, 0, unknown, true}, {3659, 0, unknown, true}, {3660, 0, unknown, false}}},
		{"back within a run: held, then the run resumes", []unknownStep{
			{0, 3, known, true}, {10, 0, unknown, true}, {50, 0, unknown, true},
			{-3550, 0, unknown, true}, {-3000, 0, known, true}, {50, 0, unknown, true},
			{69, 0, unknown, true}, {70, 0, unknown, false}}},
		{"back at zero: unknown never activates", []unknownStep{
			{0, 0, known, false}, {-3600, 5, known, false}, {-3590, 0, unknown, false},
			{10, 0, unknown, false}, {20, 5, known, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) { runUnknownSteps(t, grace, tc.steps) })
	}
}
