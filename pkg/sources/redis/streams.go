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
// which XLEN cannot, at no extra round trip.
type streamCmds struct {
	types   map[string]*goredis.StatusCmd
	lengths map[string]*goredis.IntCmd
	pending map[streamGroup]*goredis.XPendingCmd
	groups  map[string]*goredis.Cmd // XINFO GROUPS, parsed by parseGroups
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
		case q.kind == readLag && sc.groups[q.stream] == nil:
			// Raw, not XInfoGroups: go-redis reads a nil lag as -1 and a
			// missing one (Redis < 7) as 0, and 0 is a lie we must not tell.
			sc.groups[q.stream] = pipe.Do(ctx, "xinfo", "groups", q.stream)
		}
	}
	p.streams = sc
}

// readStreams settles every stream query from the first pipeline, except
// lag queries whose lag Redis could not tell: those get a lagCount job.
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
				p.settle(i, streamSample(q.stream+"/"+q.group, float64(x.Count), "pending"), nil)
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
	v, err := p.streams.groups[q.stream].Result()
	if err != nil {
		p.fail(i, p.u.serverErr(fmt.Errorf("XINFO GROUPS %q: %w", q.stream, err)))
		return
	}
	groups, err := parseGroups(v)
	if err != nil {
		p.fail(i, p.u.serverErr(fmt.Errorf("XINFO GROUPS %q: %w", q.stream, err)))
		return
	}
	g, ok := findGroup(groups, q.group)
	switch {
	case !ok:
		p.fail(i, groupNotFound(q))
	case g.lagKnown:
		p.settle(i, streamSample(q.stream+"/"+q.group, float64(g.lag), "lag"), nil)
	default:
		p.needLagCount(q, g.lastDelivered)
	}
}

func groupNotFound(q *query) error {
	return fmt.Errorf("stream %q: consumer group %q: %w", q.stream, q.group, sources.ErrNotFound)
}

// streamSample is a one-part sample: a stream has no parts of its own.
func streamSample(name string, v float64, info string) sources.Sample {
	return sources.Sample{Value: v, Activity: v, Parts: []sources.Part{{Name: name, Value: v, Info: info}}}
}
