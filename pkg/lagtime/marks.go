package lagtime

import "time"

// MarksCap is how many distinct log-end values a Marks remembers. When it is
// full, the history is thinned rather than cut (see Add), so it reaches back
// far with resolution degrading with age: with a poll every 2 s on a busy
// partition (a new log end at every poll) the last 18 s or so stay a poll
// apart, the spacing then doubles about every five marks (4 s up to 40 s
// ago, 8 s up to 80 s, ... half an hour at five hours), and the history
// reaches back 9 to 10 hours; only lag older than that is reported as a
// lower bound. The spacing is proportional to the poll interval (15 s polls
// reach back about 70 hours), and polling a quiet partition collapses into
// few marks, so the history is longer there.
const MarksCap = 64

// maxThinnedSpan bounds the gap that thinning may leave between two marks,
// as a fraction of the gap's age (from its start to the newest reading): an
// interpolated age within it is off by at most a quarter of itself however
// unevenly messages arrived, and by nothing when they arrived evenly. It
// also sets the horizon: with MarksCap 64 and steady polls, 0.2 settles at
// about 17,000 poll intervals (see MarksCap); 0.25 would reach about
// 115,000, at up to a third of an answer's age.
const maxThinnedSpan = 0.2

// mark is one distinct log end: the first poll that saw it (at) and the
// last poll that still saw it (until), in Unix nanoseconds to keep the
// history small (24 bytes a mark, 1.5 KiB a partition).
type mark struct {
	at, until int64
	logEnd    int64
}

// Marks remembers, for one partition, when its log end passed each offset:
// up to MarksCap distinct log ends, oldest first, with the time each was
// first and last seen, thinned as it fills so that it spans hours (see Add).
// The zero value is empty and ready to use; memory is fixed (no allocation
// ever). A Marks is not safe for concurrent use.
type Marks struct {
	marks [MarksCap]mark
	n     int // marks held, in marks[:n]
}

// Len returns the number of marks held, at most MarksCap.
func (m *Marks) Len() int { return m.n }

// Add records that the log end was logEnd at t.
//
//   - A t not after the newest mark's last sighting is ignored: the history
//     must be ordered in time for Age to search it, and a reading from the
//     past adds nothing.
//   - An unchanged log end extends the newest mark's last sighting and keeps
//     its first time: the offset was reached then, and Age needs to know
//     that the log end stood still until now.
//   - A log end below the newest one means the topic was re-created or its
//     offsets reset: the history describes other messages, so it is dropped
//     and starts again from this reading.
//   - When MarksCap marks are held, one is dropped to make room, so that
//     resolution degrades gracefully with age instead of the history being
//     cut at MarksCap polls. Dropping a mark between two others merges the
//     gaps on either side: Age then interpolates from the last sighting of
//     the earlier neighbour to the first sighting of the later one, which
//     is still a bracket of the truth, only a wider one. The mark dropped is
//     the one whose merged gap is the narrowest relative to its age (its
//     length over the time from its start to t), the oldest such on a tie;
//     the result is roughly geometric spacing, the newest marks a poll
//     apart. The newest mark is never dropped, and the oldest only when
//     every merge would leave a gap of a fifth of its age or more, which
//     bounds the error of the oldest answers at the cost of the horizon.
//
// Add is O(MarksCap) once the history is full, under a microsecond.
func (m *Marks) Add(t time.Time, logEnd int64) {
	ns := t.UnixNano()
	if m.n > 0 {
		last := &m.marks[m.n-1]
		switch {
		case ns <= last.until:
			return
		case logEnd == last.logEnd:
			last.until = ns
			return
		case logEnd < last.logEnd:
			m.n = 0
		}
	}
	if m.n == MarksCap {
		m.thin(ns)
	}
	m.marks[m.n] = mark{at: ns, until: ns, logEnd: logEnd}
	m.n++
}

// thin drops one mark of a full history, before a reading at now (after
// every mark's last sighting); see Add.
func (m *Marks) thin(now int64) {
	drop, least := 0, maxThinnedSpan
	for i := 1; i < m.n-1; i++ {
		prev, next := &m.marks[i-1], &m.marks[i+1]
		if span := delta(next.at, prev.until) / delta(now, prev.until); span < least {
			drop, least = i, span
		}
	}
	copy(m.marks[drop:m.n], m.marks[drop+1:m.n])
	m.n--
}

// Age returns how long before now the oldest unconsumed message arrived,
// given the partition's committed offset (Kafka's committed offset is the
// next one to read, so that message is offset committed). It arrived when
// the log end first exceeded committed, that is reached committed+1.
//
//   - committed >= the newest log end: caught up, 0 and exact.
//   - the log end reached committed+1 between two marks: the moment is
//     interpolated linearly between the last sighting of the earlier log end
//     and the first sighting of the later one (the log end stood still up to
//     the former and had moved by the latter), and the answer is exact, up
//     to the spacing of the marks: a poll for recent marks, wider for old
//     ones that Add has thinned (at most a fifth of their age).
//   - committed+1 <= the oldest mark's log end: the message arrived at or
//     before the oldest mark, so now minus that mark's time is a lower
//     bound, reported with exact false. An empty Marks returns 0, false:
//     "at least nothing".
//
// A result that would be negative (now before the arrival, a clock step) is
// 0. Times must lie within the years 1678-2262, like time.UnixNano.
func (m *Marks) Age(committed int64, now time.Time) (age time.Duration, exact bool) {
	if m.n == 0 {
		return 0, false
	}
	if committed >= m.marks[m.n-1].logEnd {
		return 0, true
	}
	oldest := &m.marks[0]
	if committed < oldest.logEnd {
		return since(now, oldest.at), false
	}
	// Binary search for the first mark whose log end exceeds committed; it
	// exists (the newest) and is not the oldest, as checked above.
	lo, hi := 1, m.n-1
	for lo < hi {
		mid := (lo + hi) / 2
		if m.marks[mid].logEnd > committed {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	a, b := &m.marks[lo-1], &m.marks[lo]
	// The log end went from a.logEnd (still there at a.until) to b.logEnd
	// (there by b.at); offset committed+1 lies in (a.logEnd, b.logEnd].
	frac := float64(uint64(committed+1)-uint64(a.logEnd)) / float64(uint64(b.logEnd)-uint64(a.logEnd))
	arrived := a.until + int64(frac*float64(b.at-a.until))
	return since(now, arrived), true
}

func since(now time.Time, ns int64) time.Duration {
	return max(time.Duration(now.UnixNano()-ns), 0)
}
