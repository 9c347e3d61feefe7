package lagtime

import "time"

// MarksCap is how many distinct log-end values a Marks remembers. With a
// poll every 2 s on a busy partition (a new log end at every poll) that is
// about two minutes of history, four times a 30 s lag target; older lag is
// reported as a lower bound, which is all a scaler needs to know that it is
// far behind. Polling a quiet partition collapses into few marks, so the
// span is longer there.
const MarksCap = 64

// mark is one distinct log end: the first poll that saw it (at) and the
// last poll that still saw it (until), in Unix nanoseconds to keep the ring
// small (24 bytes a mark, 1.5 KiB a partition).
type mark struct {
	at, until int64
	logEnd    int64
}

// Marks remembers, for one partition, when its log end passed each offset:
// a ring of the last MarksCap distinct log ends with the time each was first
// and last seen. The zero value is empty and ready to use; memory is fixed
// (no allocation ever). A Marks is not safe for concurrent use.
type Marks struct {
	ring  [MarksCap]mark
	start int // index of the oldest mark
	n     int // marks held
}

// Len returns the number of marks held, at most MarksCap.
func (m *Marks) Len() int { return m.n }

func (m *Marks) at(i int) *mark { return &m.ring[(m.start+i)%MarksCap] }

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
//   - When the ring is full the oldest mark is overwritten.
func (m *Marks) Add(t time.Time, logEnd int64) {
	ns := t.UnixNano()
	if m.n > 0 {
		last := m.at(m.n - 1)
		switch {
		case ns <= last.until:
			return
		case logEnd == last.logEnd:
			last.until = ns
			return
		case logEnd < last.logEnd:
			m.start, m.n = 0, 0
		}
	}
	if m.n == MarksCap {
		m.start = (m.start + 1) % MarksCap
		m.n--
	}
	*m.at(m.n) = mark{at: ns, until: ns, logEnd: logEnd}
	m.n++
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
//     to the poll spacing.
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
	if committed >= m.at(m.n-1).logEnd {
		return 0, true
	}
	oldest := m.at(0)
	if committed < oldest.logEnd {
		return since(now, oldest.at), false
	}
	// Binary search for the first mark whose log end exceeds committed; it
	// exists (the newest) and is not the oldest, as checked above.
	lo, hi := 1, m.n-1
	for lo < hi {
		mid := (lo + hi) / 2
		if m.at(mid).logEnd > committed {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	a, b := m.at(lo-1), m.at(lo)
	// The log end went from a.logEnd (still there at a.until) to b.logEnd
	// (there by b.at); offset committed+1 lies in (a.logEnd, b.logEnd].
	frac := float64(uint64(committed+1)-uint64(a.logEnd)) / float64(uint64(b.logEnd)-uint64(a.logEnd))
	arrived := a.until + int64(frac*float64(b.at-a.until))
	return since(now, arrived), true
}

func since(now time.Time, ns int64) time.Duration {
	return max(time.Duration(now.UnixNano()-ns), 0)
}
