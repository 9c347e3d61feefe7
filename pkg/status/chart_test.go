package status

import (
	"strings"
	"testing"
	"time"
)

func TestPlot(t *testing.T) {
	// A 10-minute span in 1-minute steps: each step is 51.2 units wide and
	// the plot ends at t0+10m (now is inside the step starting at t0+9m).
	now := t0.Add(9*time.Minute + 30*time.Second)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		name                  string
		pts                   []Point
		value, replicas, desc string
	}{
		{name: "no points", desc: "No samples in the last 10m."},
		{name: "one point", pts: []Point{{at(9), 4, 2}},
			value: "M524.8 26.0H576.0", replicas: "M524.8 26.0H576.0",
			desc: "demand between 4 and 4, desired replicas between 2 and 2; now 4 and 2"},
		{name: "a missing step is a gap", pts: []Point{{at(0), 2, 1}, {at(1), 4, 2}, {at(3), 0, 0}},
			value: "M64.0 93.0H115.2V26.0H166.4M217.6 160.0H268.8", replicas: "M64.0 93.0H115.2V26.0H166.4M217.6 160.0H268.8",
			desc: "(3 points): demand between 0 and 4, desired replicas between 0 and 2; now 0 and 0"},
		{name: "all zero sits on the axis", pts: []Point{{at(8), 0, 0}},
			value: "M473.6 160.0H524.8", replicas: "M473.6 160.0H524.8"},
		{name: "a point before the span is clipped to its edge", pts: []Point{{at(-5), 1.5, 1}, {at(0), 3, 1}},
			value: "M64.0 93.0H64.0M64.0 26.0H115.2", replicas: "M64.0 26.0H64.0M64.0 26.0H115.2",
			desc: "demand between 1.5 and 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := plot("c", "title", tc.pts, now, time.Minute, 10*time.Minute)
			if c.ValuePath != tc.value || c.ReplicasPath != tc.replicas || !strings.Contains(c.Desc, tc.desc) || c.Points != len(tc.pts) {
				t.Errorf("plot:\n  value    %q\n  replicas %q\n  desc     %q\nwant\n  value    %q\n  replicas %q\n  desc containing %q",
					c.ValuePath, c.ReplicasPath, c.Desc, tc.value, tc.replicas, tc.desc)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 42: "42", 1.5: "1.5", 2.0 / 3: "0.6667", 1e20: "1e+20"} {
		if got := formatNum(in); got != want {
			t.Errorf("formatNum(%v) = %q; want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{3 * time.Hour: "3h", 90 * time.Minute: "1h30m", 10 * time.Minute: "10m", 90 * time.Second: "1m30s"} {
		if got := formatDuration(in); got != want {
			t.Errorf("formatDuration(%v) = %q; want %q", in, got, want)
		}
	}
}
