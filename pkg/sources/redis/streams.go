package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/pkg/sources"
)

// streamGroup names a consumer group of a stream.
type streamGroup struct{ stream, group string }

// streamCmds are the stream reads of a poll's first pipeline, each command
// once however many queries need it. TYPE goes with every stream: it tells
// a missing stream (an error, unlike a missing list) from an empty one,
// which XLEN cannot, at no extra round trip. Every query with a consumer
// group also reads XINFO GROUPS, XINFO STREAM and XINFO CONSUMERS, for its
// Flow (see flow.go): three commands in the same pipeline, not a round
// trip. XINFO STREAM's reply carries the first and last entries whole, so
// a stream of large entries costs two of them per poll; it is the only
// command that tells entries-added. XINFO CONSUMERS' grows with the
// consumers Redis keeps, which is what it is read to see past.
type streamCmds struct {
	types   map[string]*goredis.StatusCmd
	lengths map[string]*goredis.IntCmd
	pending map[streamGroup]*goredis.XPendingCmd
	groups  map[string]*goredis.Cmd      // XINFO GROUPS, parsed by parseGroups
	infos   map[string]*goredis.Cmd      // XINFO STREAM, parsed by parseStreamInfo
	members map[streamGroup]*goredis.Cmd // XINFO CONSUMERS, parsed by parseConsumers
}

func (p *poll) hasStreams() bool {
	for _, q := range p.queries {
		if q != nil && q.kind != readKeys {
			return true
		}
	}
	return false
}

func (p *poll) queueStreams(ctx context.Context, pipe goredis.Pipeliner) {
	sc := streamCmds{
		types:   map[string]*goredis.StatusCmd{},
		lengths: map[string]*goredis.IntCmd{},
		pending: map[streamGroup]*goredis.XPendingCmd{},
		groups:  map[string]*goredis.Cmd{},
		infos:   map[string]*goredis.Cmd{},
		members: map[streamGroup]*goredis.Cmd{},
	}
	for _, q := range p.queries {
		if q == nil || q.kind == readKeys {
			continue
		}
		if sc.types[q.stream] == nil {
			sc.types[q.stream] = pipe.Type(ctx, q.stream)
		}
		sg := streamGroup{q.stream, q.group}
		switch {
		case q.kind == readLength && sc.lengths[q.stream] == nil:
			sc.lengths[q.stream] = pipe.XLen(ctx, q.stream)
		case q.kind == readPending && sc.pending[sg] == nil:
			sc.pending[sg] = pipe.XPending(ctx, q.stream, q.group)
		}
		if q.group == "" {
			continue
		}
		// Raw, not the typed XInfo commands: go-redis reads a nil lag or
		// entries-read as -1 and a missing one (Redis < 7) as 0, and 0 is
		// a lie we must not tell. GROUPS before STREAM: see resolveOldest.
		if sc.groups[q.stream] == nil {
			sc.groups[q.stream] = pipe.Do(ctx, "xinfo", "groups", q.stream)
			sc.infos[q.stream] = pipe.Do(ctx, "xinfo", "stream", q.stream)
		}
		if sc.members[sg] == nil {
			sc.members[sg] = pipe.Do(ctx, "xinfo", "consumers", q.stream, q.group)
		}
	}
	p.streams = sc
	p.groups = map[streamGroup]*groupRead{}
}

// readStreams reads every stream query from the first pipeline. Length
// queries settle; queries with a group are held for their Flow, and lag
// queries whose lag Redis could not tell get a lagCount job.
func (p *poll) readStreams() {
	for i, q := range p.queries {
		if q == nil || q.kind == readKeys {
			continue
		}
		if err := p.checkStream(q); err != nil {
			p.fail(i, err)
			continue
		}
		switch q.kind {
		case readLength:
			n, err := p.streams.lengths[q.stream].Result()
			if err != nil {
				p.fail(i, p.u.serverErr(fmt.Errorf("XLEN %q: %w", q.stream, err)))
				continue
			}
			p.settle(i, streamSample(q.stream, float64(n), "length"), nil)
		case readPending:
			x, err := p.streams.pending[streamGroup{q.stream, q.group}].Result()
			switch {
			case goredis.HasErrorPrefix(err, "NOGROUP"):
				p.fail(i, groupNotFound(q))
			case err != nil:
				p.fail(i, p.u.serverErr(fmt.Errorf("XPENDING %q %q: %w", q.stream, q.group, err)))
			default:
				// XPENDING is the measure; XINFO GROUPS only adds the
				// Flow, so its failure is a note, not the query's error.
				s := streamSample(q.stream+"/"+q.group, float64(x.Count), "pending")
				if p.readGroup(q).err != nil {
					s.Notes = append(s.Notes, fmt.Sprintf(noteNoGroupInfo, q.stream, q.group))
				}
				p.hold(i, s)
			}
		case readLag:
			p.readLag(i, q)
		}
	}
}

// checkStream fails a query whose stream is missing or not a stream.
func (p *poll) checkStream(q *query) error {
	t, err := p.streams.types[q.stream].Result()
	switch {
	case err != nil:
		return p.u.serverErr(fmt.Errorf("TYPE %q: %w", q.stream, err))
	case t == "none":
		return fmt.Errorf("stream %q: %w", q.stream, sources.ErrNotFound)
	case t != "stream":
		return fmt.Errorf("key %q is a %s, not a stream", q.stream, t)
	}
	return nil
}

func (p *poll) readLag(i int, q *query) {
	r := p.readGroup(q)
	switch {
	case r.err != nil:
		p.fail(i, r.err)
	case r.g.lagKnown:
		p.hold(i, streamSample(q.stream+"/"+q.group, float64(r.g.lag), "lag"))
	default:
		p.needLagCount(q, r.g.lastDelivered)
	}
}

func groupNotFound(q *query) error {
	return fmt.Errorf("stream %q: consumer group %q: %w", q.stream, q.group, sources.ErrNotFound)
}

// streamSample is a one-part sample: a stream has no parts of its own.
func streamSample(name string, v float64, info string) sources.Sample {
	return sources.Sample{Value: v, Activity: v, Parts: []sources.Part{{Name: name, Value: v, Info: info}}}
}
