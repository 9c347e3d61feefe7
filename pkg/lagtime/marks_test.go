package lagtime

import (
	"cmp"
	"testing"
	"time"
	"unsafe"
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

// poll2s is the time of the i-th poll, 2 s apart.
func poll2s(i int) time.Time { return at(float64(2 * i)) }

// checkMarks verifies the invariants Age relies on: log ends strictly
// increasing, each mark's sightings ordered and before the next mark's.
func checkMarks(t *testing.T, m *Marks) {
	t.Helper()
	if m.n < 0 || m.n > MarksCap {
		t.Fatalf("Len() = %d, want within [0, %d]", m.n, MarksCap)
	}
	for i := range m.n {
		k := m.marks[i]
		if k.at > k.until || i > 0 && (k.logEnd <= m.marks[i-1].logEnd || k.at <= m.marks[i-1].until) {
			t.Fatalf("mark %d of %d out of order: %+v after %+v", i, m.n, k, m.marks[max(i-1, 0)])
		}
	}
}

// TestMarksThinning adds far more distinct log ends than MarksCap: 10,000
// polls 2 s apart, production steady at 5/s (log end 10*i at poll i). The
// history thins instead of cutting, so it still reaches back to the first
// poll, five and a half hours ago, with exact answers within a few percent
// (linear interpolation is exact for steady production; the spacing only
// bounds the error when production is uneven, see TestMarksUneven).
func TestMarksThinning(t *testing.T) {
	var m Marks
	const n = 10_000
	// AllocsPerRun runs the function twice: each run fills m from empty.
	if allocs := testing.AllocsPerRun(1, func() {
		m = Marks{}
		for i := range n {
			m.Add(poll2s(i), int64(10*i))
			if m.Len() > MarksCap {
				t.Fatalf("poll %d: Len() = %d", i, m.Len())
			}
		}
	}); allocs != 0 {
		t.Errorf("Add allocated %v times", allocs)
	}
	if size := unsafe.Sizeof(m); size != MarksCap*24+8 {
		t.Errorf("Marks is %d bytes, want %d", size, MarksCap*24+8)
	}
	checkMarks(t, &m)
	if m.Len() != MarksCap {
		t.Fatalf("Len() = %d, want %d", m.Len(), MarksCap)
	}
	now := poll2s(n)
	// produced is the offset whose arrival was the log end reaching it at
	// ago before now: committed is one less.
	produced := func(ago time.Duration) int64 { return 10 * int64(now.Sub(t0)-ago) / int64(2*time.Second) }
	tests := []struct {
		name  string
		ago   time.Duration
		exact bool
	}{
		{"4 s ago: poll-level", 4 * time.Second, true},
		{"15 s ago: poll-level", 15 * time.Second, true},
		{"30 s ago (a lag target)", 30 * time.Second, true},
		{"5 min ago", 5 * time.Minute, true},
		{"1 h ago", time.Hour, true},
		{"5 h ago: still exact", 5 * time.Hour, true},
		{"5 h 33 min ago: between the first two polls", 5*time.Hour + 33*time.Minute + 18*time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			age, exact := m.Age(produced(tt.ago)-1, now)
			if exact != tt.exact || (age-tt.ago).Abs() > tt.ago/50 {
				t.Errorf("Age = %v, %v; want %v within 2%%, %v", age, exact, tt.ago, tt.exact)
			}
		})
	}
	t.Run("before the first poll: a lower bound", func(t *testing.T) {
		if age, exact := m.Age(-1, now); exact || age != now.Sub(t0) {
			t.Errorf("Age(-1) = %v, %v; want %v, false", age, exact, now.Sub(t0))
		}
	})

	// The newest marks are a poll apart, and the gaps only widen with age,
	// none wider than maxThinnedSpan of its age.
	t.Run("spacing", func(t *testing.T) {
		nowNs := now.UnixNano()
		for i := m.n - 1; i > 0; i-- {
			a, b := m.marks[i-1], m.marks[i]
			gap := time.Duration(b.at - a.until)
			switch k := m.n - i; {
			case k <= 9 && gap != 2*time.Second:
				t.Errorf("gap %d from the newest is %v, want a poll (2s)", k, gap)
			case i < m.n-1 && gap < time.Duration(m.marks[i+1].at-b.until):
				t.Errorf("gap %d from the newest (%v) is narrower than a newer one", k, gap)
			case gap > 2*time.Second && float64(gap) > maxThinnedSpan*float64(nowNs-a.until):
				t.Errorf("gap %d from the newest is %v at %v", k, gap, time.Duration(nowNs-a.until))
			}
		}
	})

	t.Run("reset after thinning starts over", func(t *testing.T) {
		r := m
		r.Add(now.Add(2*time.Second), 5)
		if age, exact := r.Age(4, now.Add(4*time.Second)); r.Len() != 1 || age != 2*time.Second || exact {
			t.Errorf("Len %d, Age(4) = %v, %v; want 1, 2s, false", r.Len(), age, exact)
		}
	})
}

// TestMarksHorizon: the history settles at about 9 hours of 2 s polls
// (maxThinnedSpan 0.2); older offsets are lower bounds, newer exact.
func TestMarksHorizon(t *testing.T) {
	var m Marks
	const n = 30_000 // 16 h 40 min
	for i := range n {
		m.Add(poll2s(i), int64(10*i))
	}
	checkMarks(t, &m)
	now := poll2s(n)
	horizon := now.Sub(time.Unix(0, m.marks[0].at))
	if horizon < 8*time.Hour || horizon > 11*time.Hour {
		t.Errorf("history reaches back %v, want about 9h", horizon)
	}
	tests := []struct {
		name  string
		ago   time.Duration
		want  time.Duration // 0: ago within 2%
		exact bool
	}{
		{"8 h ago: exact", 8 * time.Hour, 0, true},
		{"12 h ago: at least the horizon", 12 * time.Hour, horizon, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			committed := 10*int64(now.Sub(t0)-tt.ago)/int64(2*time.Second) - 1
			age, exact := m.Age(committed, now)
			want := cmp.Or(tt.want, tt.ago)
			if exact != tt.exact || (age-want).Abs() > want/50 {
				t.Errorf("Age = %v, %v; want %v within 2%%, %v", age, exact, want, tt.exact)
			}
		})
	}
}

// TestMarksUneven polls every 2 s a partition whose production changes at
// every poll, 0 to 22 messages/s, so interpolation is only as good as the
// spacing. Messages arrive evenly within each poll interval, so the truth
// is the linear interpolation between the two polls around an offset. Every
// offset of the last 18 s is exact to the poll (the newest marks are a poll
// apart); every older one is off by at most a quarter of its age.
func TestMarksUneven(t *testing.T) {
	const n = 10_000
	rate := func(i int) int64 { return int64(i*7919) % 23 }
	ends := make([]int64, n+1) // the log end at poll i
	var m Marks
	for i := range ends {
		if i > 0 {
			ends[i] = ends[i-1] + 2*rate(i)
		}
		m.Add(poll2s(i), ends[i])
	}
	checkMarks(t, &m)
	now := poll2s(n)
	var worst float64
	i := 1
	for c := ends[0]; c < ends[n]; c++ {
		for ends[i] <= c {
			i++
		}
		// Offset c+1 arrived between polls i-1 and i.
		frac := float64(c+1-ends[i-1]) / float64(ends[i]-ends[i-1])
		truth := now.Sub(poll2s(i - 1).Add(time.Duration(frac * float64(2*time.Second))))
		age, exact := m.Age(c, now)
		err := (age - truth).Abs()
		switch {
		case !exact:
			t.Fatalf("Age(%d) = %v, not exact; want %v", c, age, truth)
		case truth <= 18*time.Second && err > time.Microsecond:
			t.Fatalf("Age(%d) = %v, want %v: recent offsets exact to the poll", c, age, truth)
		case float64(err) > 0.25*float64(truth):
			t.Fatalf("Age(%d) = %v, want %v within a quarter", c, age, truth)
		}
		if truth > 0 {
			worst = max(worst, float64(err)/float64(truth))
		}
	}
	t.Logf("worst relative error %.1f%%", 100*worst)
}

// TestMarksBinarySearch checks every offset of a history against a linear
// scan.
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
