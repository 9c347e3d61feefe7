package kafka

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// noCommit is the committed offset Kafka reports for a partition the group
// never committed; a partition missing from an OffsetFetch answer is the same.
const noCommit = -1

// reading is what one poll learned about one partition for one group.
type reading struct {
	topic     string
	partition int32
	committed int64 // < 0: no commit
	latest    int64 // log end offset (high watermark)
	earliest  int64 // log start offset, valid with hasEarliest
	// previous is the committed offset the previous poll saw, valid with
	// hasPrevious; only read when excludePersistentLag is set.
	previous    int64
	hasEarliest bool
	hasPrevious bool
	// stood counts the polls (this one included) that saw this committed
	// offset with this log end, since stoodSince; only read with
	// persistentLagPolls.
	stood      int
	stoodSince time.Time
	// err is why the partition's offsets are unknown: leader unavailable,
	// an error code in a response, a broker that cannot be reached.
	err error
}

// partitionLag is the lag of one partition, never negative.
//
// Without a commit the group has not started on the partition, and what it
// will read depends on its auto.offset.reset: with latest it starts at the
// log end, and KEDA reports 1 so that the workload still wakes up to join;
// with earliest it will read the whole retained log, log end minus log
// start. scaleToZeroOnInvalidOffset makes both 0. A commit beyond the log end
// (after truncation or topic re-creation) would give negative lag, which
// would hide other partitions' lag in the sum: it is clamped to 0.
func partitionLag(r reading, opt lagOptions) int64 {
	switch {
	case r.committed >= 0:
		return max(r.latest-r.committed, 0)
	case opt.scaleToZeroOnInvalidOffset:
		return 0
	case opt.earliest:
		return max(r.latest-r.earliest, 0)
	default:
		return 1
	}
}

// persistent reports whether a partition's lag is "persistent" in KEDA's
// sense: the group has a commit, the commit has not moved since the previous
// poll, and there is lag. Such a partition is stuck (a poison message, a
// dead consumer that still holds it), and adding replicas would not help.
func persistent(r reading, lag int64, opt lagOptions) bool {
	return opt.excludePersistentLag && r.committed >= 0 && r.hasPrevious && r.previous == r.committed && lag > 0
}

// stuck reports whether a partition is stuck in the persistentLagPolls
// sense: its committed offset and its log end (so its lag) have stood still
// for at least persistentLagPolls polls. A transaction marker leaves lag 1
// that no consumer can ever commit past (KEDA #5675); a dead consumer that
// still holds a partition of an idle topic looks the same. More replicas
// move neither, so the lag stops counting towards scale-out; once it has
// stood for persistentLagTimeout too it stops keeping the workload active,
// so a marker cannot hold a workload above zero forever. Any movement
// (a commit, a new message) ends it at once.
func stuck(r reading, lag int64, opt lagOptions, now time.Time) (scaleOut, activation bool) {
	if opt.persistentPolls <= 0 || r.committed < 0 || lag <= 0 || r.stood < opt.persistentPolls {
		return false, false
	}
	return true, now.Sub(r.stoodSince) >= opt.persistentTimeout
}

// sampleOf sums the readings of one query into a Sample (without Time).
//
// Any partition whose offsets are unknown fails the whole query: a partial
// sum looks like less work than there is and could scale a busy workload
// down. The error names the failed partitions.
//
// Value counts the lag of every partition except persistent ones; Activity
// counts all of it, so a stuck partition keeps the workload awake but does
// not add replicas. Capacity is the number of partitions, or with
// limitToPartitionsWithLag the number of partitions whose counted lag is
// above 0, at least 1: a Capacity of 0 would mean "unbounded", and when no
// partition has counted lag Value is 0 and a cap of 1 changes nothing.
func sampleOf(rs []reading, opt lagOptions, now time.Time) (sources.Sample, error) {
	if err := readingsError(rs, opt); err != nil {
		return sources.Sample{}, err
	}
	var s sources.Sample
	var value, activity int64
	withLag := 0
	s.Parts = make([]sources.Part, len(rs))
	var idle, asleep []string // stuck: not counted towards scale-out; nor towards activation
	for i, r := range rs {
		lag := partitionLag(r, opt)
		out, off := stuck(r, lag, opt, now)
		excluded := out || persistent(r, lag, opt)
		if !off {
			activity += lag
		}
		if excluded {
			s.Excluded++
		} else {
			value += lag
			if lag > 0 {
				withLag++
			}
		}
		switch {
		case off:
			asleep = append(asleep, stuckName(r))
		case out:
			idle = append(idle, stuckName(r))
		}
		s.Parts[i] = sources.Part{Name: partName(r), Value: float64(lag), Info: partInfo(r, excluded)}
	}
	s.Value, s.Activity = float64(value), float64(activity)
	if len(idle) > 0 {
		s.Notes = append(s.Notes, stuckNote(idle, opt, "not counted towards scale-out"))
	}
	if len(asleep) > 0 {
		s.Notes = append(s.Notes, stuckNote(asleep, opt, fmt.Sprintf(
			"stuck for %s or more: not counted towards scale-out or activation", opt.persistentTimeout)))
	}
	s.Capacity = len(rs)
	if opt.limitToPartitionsWithLag && len(rs) > 0 {
		s.Capacity = max(withLag, 1)
	}
	return s, nil
}

// readingsError is nil when every reading is usable, else an error naming
// the failed partitions (the first few) and wrapping the first cause.
func readingsError(rs []reading, opt lagOptions) error {
	var names []string
	var first error
	for _, r := range rs {
		err := r.err
		if err == nil && r.committed < 0 && opt.earliest && !opt.scaleToZeroOnInvalidOffset && !r.hasEarliest {
			err = errNoLogStart
		}
		if err == nil {
			continue
		}
		if first == nil {
			first = err
		}
		names = append(names, partName(r))
	}
	if first == nil {
		return nil
	}
	const show = 8
	list := strings.Join(names[:min(len(names), show)], ", ")
	if len(names) > show {
		list += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return fmt.Errorf("offsets of %d partition(s) unknown (%s): %w", len(names), list, first)
}

// stuckName is "topic/partition@committed": the committed offset makes each
// stuck episode its own note, logged once.
func stuckName(r reading) string {
	return partName(r) + "@" + strconv.FormatInt(r.committed, 10)
}

// stuckNote names up to a few stuck partitions; the engine logs each
// distinct note once and exports it as a metric while it holds.
func stuckNote(names []string, opt lagOptions, what string) string {
	const show = 8
	list := strings.Join(names[:min(len(names), show)], ", ")
	if len(names) > show {
		list += fmt.Sprintf(" and %d more", len(names)-show)
	}
	return fmt.Sprintf("%d partition(s) stuck, committed offset and lag unchanged for %d polls (%s): %s",
		len(names), opt.persistentPolls, list, what)
}

func partName(r reading) string {
	return r.topic + "/" + strconv.FormatInt(int64(r.partition), 10)
}

// partInfo is "committed=X latest=Y[ earliest=Z][ persistent]", built with
// appends because a poll formats one per partition.
func partInfo(r reading, stuck bool) string {
	b := make([]byte, 0, 64)
	b = append(b, "committed="...)
	b = strconv.AppendInt(b, r.committed, 10)
	b = append(b, " latest="...)
	b = strconv.AppendInt(b, r.latest, 10)
	if r.hasEarliest {
		b = append(b, " earliest="...)
		b = strconv.AppendInt(b, r.earliest, 10)
	}
	if stuck {
		b = append(b, " persistent"...)
	}
	return string(b)
}
