package lagtime

import "time"

// Stalls remembers, per partition, since when its committed offset has
// stood still with lag behind it, to tell a stalled consumer (a poison
// message, a hung call) from a saturated group. The zero value is empty;
// a Stalls is not safe for concurrent use.
type Stalls struct {
	parts map[string]stall
	last  time.Time
}

// StallProbe is the stall time the Kafka source gives Stalls.Observe for
// Observation.Stalled: twice the clients' default auto-commit interval, the
// longest a busy partition's committed offset stands still with a live
// consumer. Shorter than Config.StallAfter on purpose: the first seconds
// of a stall would otherwise pass into PerConsumerRate as slow consumers.
const StallProbe = 2 * DefaultCommitInterval

type stall struct {
	committed int64
	since     time.Time // zero: no lag at the last reading
	seen      time.Time
}

// Observe records partition key's committed offset and lag at now and
// reports whether it is stalled: it has had lag, and the same committed
// offset, for at least after (Config.StallAfter's default when after is
// not positive, never less than twice DefaultCommitInterval: commits come
// in steps). Partitions not observed for after are forgotten.
func (s *Stalls) Observe(key string, now time.Time, committed, lag int64, after time.Duration) bool {
	if after <= 0 {
		after = DefaultStallAfter
	}
	after = max(after, 2*DefaultCommitInterval)
	if s.parts == nil {
		s.parts = map[string]stall{}
	}
	if now.Sub(s.last) > after {
		for k, p := range s.parts {
			if now.Sub(p.seen) > after {
				delete(s.parts, k)
			}
		}
		s.last = now
	}
	p, ok := s.parts[key]
	switch {
	case lag <= 0:
		p.since = time.Time{}
	case !ok || committed != p.committed || p.since.IsZero():
		p.since = now
	}
	p.committed, p.seen = committed, now
	s.parts[key] = p
	return !p.since.IsZero() && now.Sub(p.since) >= after
}

// Backlogged reports whether a partition with lag messages behind and
// arrivals at rate messages/s has a backlog rather than commit spacing:
// more than two auto-commit intervals of its arrivals (the bound Step uses
// for the whole group).
func Backlogged(lag int64, rate float64) bool {
	return float64(lag) > 2*max(rate, 0)*DefaultCommitInterval.Seconds()
}
