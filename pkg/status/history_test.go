package status

import (
	"fmt"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Unix(1_800_000_000, 0).UTC() // a whole minute

type sample struct {
	at       time.Duration // after t0
	value    float64
	replicas int64
}

func TestHistory(t *testing.T) {
	for _, tc := range []struct {
		name       string
		step, span time.Duration
		samples    []sample
		now        time.Duration // after t0
		want       []sample      // points: at is the step's start
	}{
		{name: "empty", step: time.Minute, span: time.Hour, now: 0},
		{name: "one sample", step: time.Minute, span: time.Hour,
			samples: []sample{{10 * time.Second, 3, 1}}, now: 10 * time.Second,
			want: []sample{{0, 3, 1}}},
		{name: "a step keeps the largest value and replicas", step: time.Minute, span: time.Hour,
			samples: []sample{{0, 3, 4}, {20 * time.Second, 9, 2}, {40 * time.Second, 1, 1}}, now: time.Minute,
			want: []sample{{0, 9, 4}}},
		{name: "steps in order, gaps stay gaps", step: time.Minute, span: time.Hour,
			samples: []sample{{0, 1, 1}, {time.Minute, 2, 1}, {5 * time.Minute, 3, 2}}, now: 5 * time.Minute,
			want: []sample{{0, 1, 1}, {time.Minute, 2, 1}, {5 * time.Minute, 3, 2}}},
		{name: "a clock that went back is dropped", step: time.Minute, span: time.Hour,
			samples: []sample{{2 * time.Minute, 5, 1}, {time.Minute, 99, 99}}, now: 2 * time.Minute,
			want: []sample{{2 * time.Minute, 5, 1}}},
		{name: "the ring keeps the newest span/step points", step: time.Minute, span: 3 * time.Minute,
			samples: []sample{{0, 1, 1}, {time.Minute, 2, 2}, {2 * time.Minute, 3, 3}, {3 * time.Minute, 4, 4}, {4 * time.Minute, 5, 5}},
			now:     4 * time.Minute,
			want:    []sample{{2 * time.Minute, 3, 3}, {3 * time.Minute, 4, 4}, {4 * time.Minute, 5, 5}}},
		{name: "points older than the span are not shown", step: time.Minute, span: 3 * time.Minute,
			samples: []sample{{0, 1, 1}, {time.Minute, 2, 2}}, now: 4 * time.Minute,
			want: []sample{{time.Minute, 2, 2}}},
		{name: "a step that ends exactly at now-span is out", step: time.Minute, span: 3 * time.Minute,
			samples: []sample{{0, 1, 1}, {time.Minute, 2, 2}}, now: 4*time.Minute + 30*time.Second,
			want: []sample{{time.Minute, 2, 2}}},
		{name: "sub-second steps", step: 200 * time.Millisecond, span: time.Second,
			samples: []sample{{0, 1, 1}, {100 * time.Millisecond, 2, 1}, {200 * time.Millisecond, 3, 2}}, now: 300 * time.Millisecond,
			want: []sample{{0, 2, 1}, {200 * time.Millisecond, 3, 2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHistory[string](tc.step, tc.span, 10)
			for _, s := range tc.samples {
				if !h.Add("k", t0.Add(s.at), s.value, s.replicas) {
					t.Fatalf("Add(%v) refused", s)
				}
			}
			got := h.Points("k", t0.Add(tc.now))
			var want []Point
			for _, s := range tc.want {
				want = append(want, Point{Time: t0.Add(s.at), Value: s.value, Replicas: s.replicas})
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Points =\n  %v\nwant\n  %v", got, want)
			}
		})
	}
}

// TestHistoryBounds: at most MaxSeries series and Span/Step points each;
// Retain drops the series of keys no longer held.
func TestHistoryBounds(t *testing.T) {
	h := NewHistory[int](time.Minute, 3*time.Hour, 2)
	for i := range 1000 {
		h.Add(1, t0.Add(time.Duration(i)*time.Minute), float64(i), 1)
	}
	if n := len(h.series[1].pts); n != 180 {
		t.Errorf("a series holds %d points; want 180 (3h in 1m steps)", n)
	}
	if got := len(h.Points(1, t0.Add(999*time.Minute))); got != 180 {
		t.Errorf("%d points shown; want 180", got)
	}
	if size := unsafe.Sizeof(point{}); size != 24 {
		t.Errorf("a point is %d bytes; the package doc says 24", size)
	}
	if !h.Add(2, t0, 1, 1) || h.Add(3, t0, 1, 1) || h.Len() != 2 || h.Has(3) {
		t.Errorf("a third series beyond MaxSeries 2 was recorded (len %d)", h.Len())
	}
	h.Retain(func(k int) bool { return k == 2 })
	if h.Has(1) || !h.Has(2) || h.Len() != 1 {
		t.Errorf("Retain(2) left len %d", h.Len())
	}
	if !h.Add(3, t0, 1, 1) {
		t.Error("after Retain freed a slot, a new series was refused")
	}
}
