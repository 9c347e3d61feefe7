package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tide-scaler/tide/pkg/sources"
)

var (
	errNoLogEnd   = errors.New("log end offset not read")
	errNoLogStart = errors.New("log start offset not read")
)

// readOffsets reads the log end offset of every partition a live query
// reads, and the log start offset of those that an earliest-policy query
// reads without a commit: one request per leader and kind, all at once.
// Partitions whose leader moved are retried once after re-reading metadata,
// if the metadata used came from the cache.
func (p *poll) readOffsets(ctx context.Context) {
	latest, early := p.wanted(false)
	p.sendOffsets(ctx, latest, early)
	if !p.leaderMoved() {
		return
	}
	if !p.cached {
		// Just read and already wrong: the cluster is electing leaders.
		// The next poll reads metadata again.
		p.u.invalidateMetadata()
		return
	}
	if err := p.loadMetadata(ctx, p.watched(), true); err != nil {
		p.u.invalidateMetadata()
		return
	}
	p.cached = false
	latest, early = p.wanted(true)
	p.sendOffsets(ctx, latest, early)
	if p.leaderMoved() {
		p.u.invalidateMetadata()
	}
}

// wanted groups by leader the partitions whose offsets the live queries
// need, each partition once. With retry, only those not read yet or failed
// because the leader moved.
func (p *poll) wanted(retry bool) (latest, early map[int32][]tp) {
	latest, early = map[int32][]tp{}, map[int32][]tp{}
	seenLatest, seenEarly := map[tp]bool{}, map[tp]bool{}
	need := func(got map[tp]offsetAt, k tp) bool {
		o, ok := got[k]
		return !retry || !ok || (o.err != nil && leaderMoved(o.err))
	}
	for i, q := range p.queries {
		if q == nil {
			continue
		}
		p.selected(i, func(t string, pm partitionMeta) {
			k := tp{t, pm.id}
			if pm.err != nil {
				return
			}
			if !seenLatest[k] {
				seenLatest[k] = true
				if need(p.latest, k) {
					latest[pm.leader] = append(latest[pm.leader], k)
				}
			}
			if !q.opt.earliest || q.opt.scaleToZeroOnInvalidOffset || seenEarly[k] {
				return
			}
			if c := p.committed(q.group, k); c.err == nil && c.offset < 0 {
				seenEarly[k] = true
				if need(p.early, k) {
					early[pm.leader] = append(early[pm.leader], k)
				}
			}
		})
	}
	return latest, early
}

// sendOffsets sends every per-leader ListOffsets request concurrently.
func (p *poll) sendOffsets(ctx context.Context, latest, early map[int32][]tp) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	send := func(leader int32, parts []tp, ts int64, into map[tp]offsetAt) {
		wg.Go(func() {
			got := p.u.listOffsets(ctx, leader, parts, ts)
			mu.Lock()
			defer mu.Unlock()
			for k, o := range got {
				into[k] = o
			}
		})
	}
	for leader, parts := range latest {
		send(leader, parts, latestTimestamp, p.latest)
	}
	for leader, parts := range early {
		send(leader, parts, earliestTimestamp, p.early)
	}
	wg.Wait()
}

// leaderMoved reports whether some offset failed because its partition's
// leader moved or is unknown.
func (p *poll) leaderMoved() bool {
	for _, m := range []map[tp]offsetAt{p.latest, p.early} {
		for _, o := range m {
			if o.err != nil && leaderMoved(o.err) {
				return true
			}
		}
	}
	return false
}

// finish turns each live query's offsets into its Sample.
func (p *poll) finish() {
	p.addMarks()
	read := map[commitKey]offsets{}
	bases := map[string]*probeBase{}
	for i, q := range p.queries {
		if q == nil {
			continue
		}
		// Metadata re-read after a leader move may have lost a topic.
		for _, t := range q.topics {
			if err := p.meta[t].err; err != nil {
				p.fail(i, err)
				break
			}
		}
		if p.queries[i] == nil {
			continue
		}
		rs := p.readings(i)
		if len(rs) == 0 && q.partitions != nil {
			p.fail(i, fmt.Errorf("partitionLimitation %s selects no partition of topic(s) %s: %w",
				q.partitions, strings.Join(p.topics[i], ","), sources.ErrNotFound))
			continue
		}
		if q.opt.excludePersistentLag || q.opt.persistentPolls > 0 {
			p.addHistory(q.group, rs, read)
		}
		s, err := sampleOf(rs, q.opt, p.now)
		if err != nil {
			p.fail(i, err)
			continue
		}
		consumers := 0
		if q.consumers != noMembers {
			if err := p.memberErrs[q.group]; err != nil {
				s.Notes = append(s.Notes, fmt.Sprintf("cannot read the members of consumer group %q: %v", q.group, err))
			}
			consumers = consumersOf(p.members[q.group], p.topics[i])
		}
		s.Flow = p.flow(q, rs, consumers)
		s.Time, s.Notes = p.now, slices.Concat(p.notes[i], s.Notes)
		p.results[i].Sample = s
		bases[q.key] = p.baseOf(i, consumers)
	}
	p.u.remember(p.now, read)
	p.u.setBases(p.now, bases)
}

// readings collects what the poll learned about each partition query i reads.
func (p *poll) readings(i int) []reading {
	q := p.queries[i]
	var rs []reading
	p.selected(i, func(t string, pm partitionMeta) {
		k := tp{t, pm.id}
		c := p.committed(q.group, k)
		r := reading{topic: t, partition: pm.id, committed: c.offset, err: c.err}
		if r.err == nil {
			r.err = pm.err
		}
		if r.err == nil {
			lo, ok := p.latest[k]
			r.latest, r.err = lo.offset, lo.err
			if !ok {
				r.err = errNoLogEnd
			}
		}
		if e, ok := p.early[k]; ok && r.err == nil {
			r.earliest, r.err, r.hasEarliest = e.offset, e.err, e.err == nil
		}
		rs = append(rs, r)
	})
	return rs
}

// addHistory fills in what earlier polls saw of each partition and records
// this poll's offsets, for excludePersistentLag and persistentLagPolls.
func (p *poll) addHistory(group string, rs []reading, read map[commitKey]offsets) {
	keys := make([]commitKey, len(rs))
	for j, r := range rs {
		keys[j] = commitKey{group, r.topic, r.partition}
	}
	prev := p.u.history(keys)
	for j := range rs {
		r := &rs[j]
		if r.err != nil || r.committed < 0 {
			continue
		}
		o := offsets{r.committed, r.latest}
		h, known := prev[keys[j]]
		if known && h.committed == r.committed && p.now.Sub(h.since) >= minPersistence {
			r.previous, r.hasPrevious = h.committed, true
		}
		cur := h.advance(p.now, o, known)
		r.stood, r.stoodSince = cur.stood, cur.stoodSince
		read[keys[j]] = o
	}
}

func isNotFound(err error) bool { return errors.Is(err, sources.ErrNotFound) }
