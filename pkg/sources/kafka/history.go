package kafka

import "time"

// partHistory is what earlier polls saw of one partition of one group.
type partHistory struct {
	committed int64
	latest    int64
	// since is the first poll that saw this committed offset
	// (excludePersistentLag: the commit has not moved).
	since time.Time
	// stoodSince is the first poll that saw this committed offset with this
	// log end, and stood how many polls saw the pair
	// (persistentLagPolls: neither the commit nor the lag moved).
	stoodSince time.Time
	stood      int
	counted    time.Time // the last poll counted in stood
	last       time.Time // the latest poll that read the partition
}

// offsets is one poll's reading of a partition, to remember.
type offsets struct{ committed, latest int64 }

// forgetCommitsAfter drops the history of partitions no poll has read for
// this long (queries that went away), bounding the map.
const forgetCommitsAfter = 15 * time.Minute

// minPersistence is how far apart two polls must be to count as two. A
// new trigger's first sample can follow a scheduled poll by milliseconds;
// counting both would call a partition stuck after one real interval.
const minPersistence = time.Second

// history returns, for each key, what polls before now saw.
func (u *Upstream) history(keys []commitKey) map[commitKey]partHistory {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[commitKey]partHistory, len(keys))
	for _, k := range keys {
		if h, ok := u.prev[k]; ok {
			out[k] = h
		}
	}
	return out
}

// advance is h after a poll at now that read o (known: h is from an
// earlier poll): what the next poll will find. The current poll judges a
// partition by it too, before the history is stored.
func (h partHistory) advance(now time.Time, o offsets, known bool) partHistory {
	moved := !known || h.committed != o.committed
	if moved {
		h.since = now
	}
	switch {
	case moved || h.latest != o.latest || h.stood == 0:
		h.stoodSince, h.stood, h.counted = now, 1, now
	case now.Sub(h.counted) >= minPersistence:
		h.stood++
		h.counted = now
	}
	h.committed, h.latest, h.last = o.committed, o.latest, now
	return h
}

// remember stores the offsets the poll at now read and forgets partitions
// not read for forgetCommitsAfter.
func (u *Upstream) remember(now time.Time, read map[commitKey]offsets) {
	if len(read) == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, o := range read {
		h, ok := u.prev[k]
		if ok && !h.last.Before(now) {
			continue // already advanced by this poll
		}
		u.prev[k] = h.advance(now, o, ok)
	}
	for k, h := range u.prev {
		if now.Sub(h.last) > forgetCommitsAfter {
			delete(u.prev, k)
		}
	}
}
