package server

import (
	"testing"
	"time"
)

// TestRepeatWait: after a change the first repeat comes within
// StreamRepeat, later ones back off by doubling to StreamRepeatMax and
// stay there, each wait in [gap/2, gap]; over an hour an active stream
// sends at most a fifth of the repeats of the old fixed 5 s pace.
func TestRepeatWait(t *testing.T) {
	const least, most = 5 * time.Second, time.Minute
	for _, tc := range []struct {
		name  string
		randN func(time.Duration) time.Duration
	}{
		{"shortest", func(time.Duration) time.Duration { return 0 }},
		{"longest", func(n time.Duration) time.Duration { return n - 1 }},
	} {
		gap, total, repeats := least, time.Duration(0), 0
		wantGaps := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, time.Minute, time.Minute}
		for i := 0; total < time.Hour; i++ {
			var wait time.Duration
			cur := gap
			wait, gap = repeatWait(gap, least, most, tc.randN)
			if i < len(wantGaps) && cur != wantGaps[i] {
				t.Errorf("%s: repeat %d due within %v, want %v", tc.name, i, cur, wantGaps[i])
			}
			if wait < cur/2 || wait > cur {
				t.Errorf("%s: repeat %d waits %v, want within [%v, %v]", tc.name, i, wait, cur/2, cur)
			}
			total += wait
			repeats++
		}
		if old := int(time.Hour / least); repeats > old/5 {
			t.Errorf("%s: %d repeats in an hour, want at most a fifth of the fixed pace's %d", tc.name, repeats, old)
		}
	}
	// A gap outside the bounds is brought inside them.
	if w, next := repeatWait(time.Hour, least, most, func(time.Duration) time.Duration { return 0 }); w > most || next != most {
		t.Errorf("repeatWait(1h) = %v, %v; want at most %v", w, next, most)
	}
}
