package kafka

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// baseTTL is how long a query's probe base outlives its last poll. The
// engine polls every live query at least every poll interval, so a base
// this old belongs to a query the engine dropped.
const baseTTL = 15 * time.Minute

// probeBase is what the last poll of a query saw, for the activation probe:
// the log end of each partition it reads and the members it counted.
type probeBase struct {
	at      time.Time
	parts   []probePart
	members int  // group members holding the query's topics
	counted bool // members were counted (the query counts consumers)
}

type probePart struct {
	tp
	leader int32
	end    int64 // log end offset the poll read
}

var _ sources.Prober = (*Upstream)(nil)

// Probe is the activation probe (sources.Prober): it reads only the log end
// offsets of the partitions the given queries read, in one ListOffsets per
// partition leader however many queries share them, and wakes a query when
// a partition's log end moved past what its last poll saw, that is when
// messages arrived that its last sample did not count; Quiet when every
// partition it read answered and none moved (its lag can only have
// fallen). Partitions added since the last poll are not read: the full
// poll, at least every IdlePollInterval, finds them. The engine probes
// only queries whose last sample had no activity. A query whose last poll
// counted group members at work is not probed: its consumers are running
// and the normal poll follows them. No OffsetFetch, DescribeGroups or
// Metadata request is sent: leaders are the last poll's, and a moved leader
// is an error here and is found by the next poll.
func (u *Upstream) Probe(ctx context.Context, _ time.Time, queries []sources.Query) ([]sources.Verdict, error) {
	u.stats.probes.Add(1)
	verdicts := make([]sources.Verdict, len(queries))
	bases := make([]*probeBase, len(queries))
	byLeader := map[int32][]tp{}
	seen := map[tp]bool{}
	u.mu.Lock()
	for i, sq := range queries {
		q, ok := sq.(*query)
		if !ok || q.cluster.endpoint.Key != u.cluster.endpoint.Key {
			continue
		}
		b := u.bases[q.key]
		if b == nil || len(b.parts) == 0 || (b.counted && b.members > 0) {
			continue
		}
		bases[i] = b
		for _, pp := range b.parts {
			if !seen[pp.tp] {
				seen[pp.tp] = true
				byLeader[pp.leader] = append(byLeader[pp.leader], pp.tp)
			}
		}
	}
	u.mu.Unlock()

	ends := make(map[tp]offsetAt, len(seen))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for leader, parts := range byLeader {
		wg.Go(func() {
			got := u.listOffsets(ctx, leader, parts, latestTimestamp)
			mu.Lock()
			defer mu.Unlock()
			for k, o := range got {
				ends[k] = o
			}
		})
	}
	wg.Wait()

	var firstErr error
	failed := 0
	for i, b := range bases {
		if b == nil {
			continue
		}
		v := sources.Quiet
		for _, pp := range b.parts {
			o, ok := ends[pp.tp]
			switch {
			case !ok:
				if v == sources.Quiet {
					v = sources.Unjudged
				}
			case o.err != nil:
				failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("topic %q partition %d: %w", pp.topic, pp.partition, o.err)
				}
				if v == sources.Quiet {
					v = sources.Unjudged
				}
			case o.offset > pp.end:
				v = sources.Wake
			}
		}
		verdicts[i] = v
	}
	if firstErr != nil {
		return verdicts, fmt.Errorf("activation probe: %d partition reads failed, first: %w", failed, u.netError(firstErr))
	}
	return verdicts, nil
}

// baseOf is what this poll saw of query i, for the probe.
func (p *poll) baseOf(i, consumers int) *probeBase {
	q := p.queries[i]
	b := &probeBase{at: p.now, members: consumers, counted: q.consumers != noMembers}
	p.selected(i, func(t string, pm partitionMeta) {
		k := tp{t, pm.id}
		if lo, ok := p.latest[k]; ok && lo.err == nil && pm.err == nil {
			b.parts = append(b.parts, probePart{tp: k, leader: pm.leader, end: lo.offset})
		}
	})
	return b
}

// setBases stores this poll's probe bases and drops those no poll renewed
// for baseTTL.
func (u *Upstream) setBases(now time.Time, bases map[string]*probeBase) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.bases == nil {
		u.bases = map[string]*probeBase{}
	}
	for k, b := range u.bases {
		if now.Sub(b.at) > baseTTL {
			delete(u.bases, k)
		}
	}
	for k, b := range bases {
		u.bases[k] = b
	}
}
