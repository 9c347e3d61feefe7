package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/pkg/sources"
)

// Poll reads every query in as few round trips as the data allows: patterns
// due for refresh are SCANned, then one pipeline carries a depth command
// for every key of known type, TYPE for the others, and every stream read.
// Only keys whose type was just learned or changed need a second pipeline,
// and only consumer groups with undelivered entries in the middle of their
// stream or a lag Redis cannot tell need XRANGE (see secondRound). It returns
// one Result per query, in order. A missing stream, a missing group or a
// key of the wrong type fails only the queries that read it; a deployment
// that cannot be reached fails them all, each naming it.
func (u *Upstream) Poll(ctx context.Context, now time.Time, queries []sources.Query) []sources.Result {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.stats.polls.Add(1)
	p := &poll{
		u:       u,
		now:     now,
		queries: make([]*query, len(queries)),
		results: make([]sources.Result, len(queries)),
		members: make([][]member, len(queries)),
		notes:   make([][]string, len(queries)),
	}
	for i, sq := range queries {
		q, ok := sq.(*query)
		if !ok || q.dep.endpoint.Key != u.dep.endpoint.Key {
			p.results[i].Err = fmt.Errorf("query %q is not for upstream %s", sq.Key(), u.dep.endpoint.Name)
			continue
		}
		p.queries[i] = q
	}
	if u.reloadSlots {
		u.reloadSlotMap(ctx)
	}
	p.run(ctx)
	u.forget(now)
	u.reloadSlots = u.cluster != nil && slices.ContainsFunc(p.results, func(r sources.Result) bool {
		return r.Err != nil && !errors.Is(r.Err, sources.ErrNotFound)
	})
	return p.results
}

// reloadSlotMap reloads a cluster's slot map before the poll that follows
// a failed one. go-redis refreshes it on a MOVED reply or every 60 s, and a
// dead master never answers MOVED; its ReloadState reloads in the
// background, at most once per 200 ms, so the first poll after a promotion
// could still dial the dead master. ForEachMaster reloads the map before it
// returns (go-redis's ReloadOrGet, one CLUSTER SLOTS); when no node
// answers, the poll goes on with the map it has.
func (u *Upstream) reloadSlotMap(ctx context.Context) {
	_ = u.cluster.ForEachMaster(ctx, func(context.Context, *goredis.Client) error { return nil })
}

// poll is the state of one Poll call. Queries that fail are set to nil.
type poll struct {
	u       *Upstream
	now     time.Time
	queries []*query
	results []sources.Result
	// members are the keys each readKeys query sums, after pattern
	// expansion.
	members [][]member
	notes   [][]string // per query: notes of the expansion
	streams streamCmds
	lags    map[streamGroup]*lagCount
	// groups are the consumer groups read, for their Flow; held are the
	// samples of stream-with-group queries waiting for it.
	groups map[streamGroup]*groupRead
	held   map[int]sources.Sample
}

// member is one key a query sums: named literally, or matched by pattern.
type member struct {
	key     string
	pattern string // "" for a literal name
}

func (p *poll) run(ctx context.Context) {
	p.expand(ctx)
	reads := p.readKeys(ctx)
	for i, q := range p.queries {
		if q != nil && q.kind == readKeys {
			s, err := keySample(p.members[i], reads)
			p.settle(i, s, err)
		}
	}
	p.readStreams()
	p.secondRound(ctx)
	p.finishLags()
	p.finishGroups()
}

// fail records err for query i and drops it from the rest of the poll.
func (p *poll) fail(i int, err error) {
	p.results[i].Err = err
	p.queries[i] = nil
}

// settle records the outcome of query i; it takes no further part.
func (p *poll) settle(i int, s sources.Sample, err error) {
	if err != nil {
		p.fail(i, err)
		return
	}
	s.Time = p.now
	s.Notes = append(p.notes[i], s.Notes...)
	p.results[i].Sample = s
	p.queries[i] = nil
}

// expand resolves every readKeys query's names into members: patterns are
// replaced by the keys their last SCAN matched (refreshed when due), with
// notes when they match nothing or too much. A key both named and matched
// is counted once, as named.
func (p *poll) expand(ctx context.Context) {
	type scanned struct {
		g   *globState
		err error
	}
	globs := map[string]scanned{}
	for _, q := range p.queries {
		if q == nil || q.kind != readKeys {
			continue
		}
		for _, n := range q.names {
			if _, done := globs[n]; isGlob(n) && !done {
				g, err := p.u.glob(ctx, p.now, n)
				globs[n] = scanned{g, err}
			}
		}
	}
	for i, q := range p.queries {
		if q == nil || q.kind != readKeys {
			continue
		}
		if q.static != nil {
			p.members[i] = q.static
			continue
		}
		byKey := map[string]member{}
		var notes []string
		for _, n := range q.names {
			if !isGlob(n) {
				byKey[n] = member{key: n}
				continue
			}
			s := globs[n]
			if s.err != nil {
				p.fail(i, s.err)
				break
			}
			notes = append(notes, s.g.notes(n)...)
			for _, k := range s.g.keys {
				if _, named := byKey[k]; !named {
					byKey[k] = member{key: k, pattern: n}
				}
			}
		}
		if p.queries[i] == nil {
			continue
		}
		keys := slices.Sorted(maps.Keys(byKey))
		p.members[i] = make([]member, len(keys))
		for j, k := range keys {
			p.members[i][j] = byKey[k]
		}
		p.notes[i] = notes
	}
}
