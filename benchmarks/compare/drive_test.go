package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	cases := []struct {
		name             string
		n                int
		window           time.Duration
		wantMin, wantMax int
	}{
		// Every ScaledObject is asked by the HPA exactly once per 15 s and
		// by the loop once or not at all in a 15 s window.
		{name: "15s window", n: 1000, window: 15 * time.Second, wantMin: 1000, wantMax: 2000},
		// In a full 30 s: the loop once and the HPA twice.
		{name: "30s window", n: 100, window: 30 * time.Second, wantMin: 300, wantMax: 300},
		{name: "none", n: 0, window: 30 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs := schedule(tc.n, tc.window, 30*time.Second, 15*time.Second, 1)
			if len(evs) < tc.wantMin || len(evs) > tc.wantMax {
				t.Fatalf("%d events, want %d..%d", len(evs), tc.wantMin, tc.wantMax)
			}
			per := map[int]int{}
			for i, ev := range evs {
				if i > 0 && ev.at < evs[i-1].at {
					t.Fatalf("event %d at %s before event %d at %s", i, ev.at, i-1, evs[i-1].at)
				}
				if ev.at < 0 || ev.at >= tc.window {
					t.Fatalf("event at %s outside the window", ev.at)
				}
				per[ev.so]++
			}
			for so, k := range per {
				if lo, hi := int(tc.window/(15*time.Second)), int(tc.window/(15*time.Second))+int((tc.window+30*time.Second-1)/(30*time.Second)); k < lo || k > hi {
					t.Fatalf("ScaledObject %d asked %d times, want %d..%d", so, k, lo, hi)
				}
			}
		})
	}
}

func TestImplied(t *testing.T) {
	cases := []struct {
		name   string
		value  float64
		active bool
		target float64
		want   int
	}{
		{name: "inactive scales to zero", value: 25, active: false, target: 10, want: 0},
		{name: "ceil", value: 65, active: true, target: 10, want: 7},
		{name: "exact", value: 60, active: true, target: 10, want: 6},
		{name: "active below target is one", value: 1, active: true, target: 10, want: 1},
		{name: "negative while active is one", value: -5, active: true, target: 10, want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := implied(tc.value, tc.active, tc.target); got != tc.want {
				t.Fatalf("implied(%v, %v, %v) = %d, want %d", tc.value, tc.active, tc.target, got, tc.want)
			}
		})
	}
}

// TestWarmUpStopsAtFirstFailure: one failing observation ends the warm-up
// at once, cancels the calls in flight, asks no more, and its error (not a
// cancelled call's) is returned.
func TestWarmUpStopsAtFirstFailure(t *testing.T) {
	var called atomic.Int32
	boom := errors.New("boom")
	err := warmUp(context.Background(), 10_000, func(ctx context.Context, i int) error {
		called.Add(1)
		if i == 20 {
			return boom
		}
		if i > 20 { // in flight when 20 fails: wait to be cancelled
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "#20: ") {
		t.Fatalf("err = %v, want #20: boom", err)
	}
	if n := called.Load(); n > 20+16+1 {
		t.Errorf("%d observations asked, want at most %d after the failure", n, 20+16+1)
	}
	if err := warmUp(context.Background(), 100, func(context.Context, int) error { return nil }); err != nil {
		t.Errorf("all answered: %v", err)
	}
}
