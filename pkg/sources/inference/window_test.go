package inference

import (
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestRingMean(t *testing.T) {
	r := newRing(10)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	r.add(at(0).Unix(), 4)
	r.add(at(0.5).Unix(), 6) // same second: averaged within it
	r.add(at(2).Unix(), 2)
	tests := []struct {
		name string
		now  time.Time
		d    time.Duration
		want float64
		ok   bool
	}{
		{"gaps are skipped, not zeros", at(2), 6 * time.Second, (5 + 2) / 2.0, true},
		{"window of one bucket", at(2.9), time.Second, 2, true},
		{"nothing in the window", at(9), 3 * time.Second, 0, false},
		{"window past the data", at(30), 5 * time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := r.mean(tt.now, tt.d)
			if !near(got, tt.want) || ok != tt.ok {
				t.Errorf("mean = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	r.add(at(12).Unix(), 7) // the slot of second 2, ten seconds later
	if _, c := r.get(at(2).Unix()); c != 0 {
		t.Error("an overwritten second still reads")
	}
	r.add(at(2).Unix(), 1) // a late observation for an overwritten second is dropped
	if s, c := r.get(at(12).Unix()); s != 7 || c != 1 {
		t.Errorf("second 12 = %v/%d after a late write to second 2", s, c)
	}
}

func TestRingRate(t *testing.T) {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name  string
		fill  func(r *ring)
		now   time.Time
		d     time.Duration
		since time.Time
		want  float64
	}{
		{"steady 10/s", func(r *ring) {
			for s := 0; s < 10; s++ {
				r.spread(at(float64(s)), at(float64(s+1)), 10)
			}
		}, at(10), 6 * time.Second, at(0), 10},
		{"a missed scrape is spread, not spiked", func(r *ring) {
			r.spread(at(0), at(1), 10)
			r.spread(at(1), at(4), 30) // three seconds in one scrape
			r.spread(at(4), at(5), 10)
		}, at(5), 2 * time.Second, at(0), 10},
		{"partial window averages since the first sample", func(r *ring) {
			r.spread(at(0), at(2), 40)
		}, at(2), 60 * time.Second, at(0), 20},
		{"window edge inside a bucket", func(r *ring) {
			r.spread(at(0.5), at(3.5), 30)
		}, at(3.5), 2 * time.Second, at(0.5), 10},
		{"idle", func(r *ring) {}, at(5), 6 * time.Second, at(0), 0},
		{"no span yet", func(r *ring) {}, at(0), 6 * time.Second, at(0), 0},
		{"spread beyond the ring keeps only its share", func(r *ring) {
			r.spread(at(0), at(40), 400) // a 40 s gap into a 10 s ring
		}, at(40), 10 * time.Second, at(0), 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(10)
			tt.fill(r)
			if got := r.rate(tt.now, tt.d, tt.since); !near(got, tt.want) {
				t.Errorf("rate = %v, want %v", got, tt.want)
			}
		})
	}
}
