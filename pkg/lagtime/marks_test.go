package lagtime

import (
	"testing"
	"time"
)

type mk struct {
	sec float64
	end int64
}

func marksOf(adds ...mk) *Marks {
	var m Marks
	for _, a := range adds {
		m.Add(at(a.sec), a.end)
	}
	return &m
}

func secs(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func TestMarksAge(t *testing.T) {
	// The log end was 100 at 0 s and 200 at 10 s.
	two := []mk{{0, 100}, {10, 200}}
	// It stood at 100 from 0 s to 4 s, then was 200 at 6 s.
	still := []mk{{0, 100}, {2, 100}, {4, 100}, {6, 200}}
	tests := []struct {
		name      string
		adds      []mk
		committed int64
		now       float64
		want      time.Duration
		exact     bool
		len       int
	}{
		{"empty: at least nothing", nil, 5, 20, 0, false, 0},
		{"interpolated: offset 149 arrived as the log end reached 150, at 5s", two, 149, 20, secs(15), true, 2},
		{"offset at the older mark arrived just after it", two, 100, 20, secs(19.9), true, 2},
		{"offset just below the newer mark arrived with it", two, 199, 20, secs(10), true, 2},
		{"caught up", two, 200, 20, 0, true, 2},
		{"committed beyond the log end is caught up", two, 250, 20, 0, true, 2},
		{"older than the marks: a lower bound from the oldest", two, 99, 20, secs(20), false, 2},
		{"no commit yet (-1) is older than the marks", two, -1, 20, secs(20), false, 2},
		{"now before the arrival is 0", two, 149, 3, 0, true, 2},
		{"unchanged log end collapses into one mark", still, 199, 10, secs(4), true, 2},
		{"interpolation starts from the last sighting of the old log end, not the first",
			still, 149, 10, secs(5), true, 2},
		{"a collapsed mark keeps the first time its offset was reached", still, 99, 10, secs(10), false, 2},
		{"times not after the newest sighting are ignored",
			[]mk{{0, 100}, {10, 200}, {10, 300}, {5, 400}}, 250, 20, 0, true, 2},
		{"a log end going backwards (re-created topic) starts over",
			[]mk{{0, 100}, {2, 200}, {4, 50}}, 49, 6, secs(2), false, 1},
		{"a log end going backwards: caught up on the new one",
			[]mk{{0, 100}, {2, 200}, {4, 50}}, 150, 6, 0, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := marksOf(tt.adds...)
			age, exact := m.Age(tt.committed, at(tt.now))
			if age != tt.want || exact != tt.exact {
				t.Errorf("Age(%d, %vs) = %v, %v; want %v, %v", tt.committed, tt.now, age, exact, tt.want, tt.exact)
			}
			if m.Len() != tt.len {
				t.Errorf("Len() = %d, want %d", m.Len(), tt.len)
			}
		})
	}
}

// TestMarksRing adds far more distinct log ends than the ring holds: it
// keeps the newest MarksCap, interpolates among them, reports older offsets
// as lower bounds from the oldest kept, and never allocates.
func TestMarksRing(t *testing.T) {
	var m Marks
	const n = 10 * MarksCap
	// The log end is 10*i at i seconds.
	add := func(i int) { m.Add(at(float64(i)), int64(10*i)) }
	if allocs := testing.AllocsPerRun(1, func() {
		for i := range n {
			add(i)
		}
	}); allocs != 0 {
		t.Errorf("Add allocated %v times", allocs)
	}
	if m.Len() != MarksCap {
		t.Fatalf("Len() = %d, want %d", m.Len(), MarksCap)
	}
	oldest := n - MarksCap
	now := at(n)
	tests := []struct {
		name      string
		committed int64
		want      time.Duration
		exact     bool
	}{
		{"newest pair", 10*(n-1) - 5, secs(1.4), true},
		{"oldest pair", int64(10 * oldest), secs(float64(n-oldest) - 0.1), true},
		{"evicted: lower bound from the oldest kept", int64(10*oldest) - 1, secs(float64(n - oldest)), false},
		{"caught up", 10 * (n - 1), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if age, exact := m.Age(tt.committed, now); age != tt.want || exact != tt.exact {
				t.Errorf("Age(%d) = %v, %v; want %v, %v", tt.committed, age, exact, tt.want, tt.exact)
			}
		})
	}
}

// TestMarksBinarySearch checks every offset of a ring against a linear scan.
func TestMarksBinarySearch(t *testing.T) {
	var m Marks
	ends := []int64{3, 4, 9, 20, 21, 50}
	for i, e := range ends {
		m.Add(at(float64(10*i)), e)
	}
	now := at(100)
	for c := ends[0]; c < ends[len(ends)-1]; c++ {
		i := 1
		for ends[i] <= c {
			i++
		}
		frac := float64(c+1-ends[i-1]) / float64(ends[i]-ends[i-1])
		want := now.Sub(at(float64(10*(i-1)) + 10*frac))
		if got, exact := m.Age(c, now); !exact || (got-want).Abs() > time.Microsecond {
			t.Errorf("Age(%d) = %v, %v; want %v, true", c, got, exact, want)
		}
	}
}
