package redis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/pkg/sources"
)

// maxKeyRounds bounds the pipelines of one poll: the worst case is a cached
// type gone stale (depth answers WRONGTYPE), then TYPE, then depth again.
const maxKeyRounds = 3

// Notes a keys sample may carry; the engine logs each once per query.
const (
	noteMissingKey  = "key %q does not exist: counted as 0"
	noteSkippedType = "pattern %q matches keys of type %s, which are not counted"
)

// keyRead is what one poll learned about one key.
type keyRead struct {
	typ   string // a counted type, "none" (missing), or a type not counted
	depth int64
	err   error
}

// keyCmd is one key's command in a pipeline: a depth command chosen by the
// cached type, or TYPE when the type is not known.
type keyCmd struct {
	key     string
	cached  *cachedType // the cache entry the depth command was chosen by
	depth   *goredis.IntCmd
	typeCmd *goredis.StatusCmd
}

// counted reports whether listName counts keys of type typ.
func counted(typ string) bool {
	switch typ {
	case "list", "zset", "set", "hash":
		return true
	}
	return false
}

// queueDepth queues the plain command that measures a key of type typ:
// LLEN, ZCARD, SCARD or HLEN. It returns nil for types not counted.
func queueDepth(ctx context.Context, pipe goredis.Pipeliner, typ, key string) *goredis.IntCmd {
	switch typ {
	case "list":
		return pipe.LLen(ctx, key)
	case "zset":
		return pipe.ZCard(ctx, key)
	case "set":
		return pipe.SCard(ctx, key)
	case "hash":
		return pipe.HLen(ctx, key)
	}
	return nil
}

// readKeys reads every member key of every readKeys query, each key once,
// in rounds of one pipeline. The first round also carries the stream
// reads, so that a steady-state poll is one pipeline per node.
func (p *poll) readKeys(ctx context.Context) map[string]keyRead {
	// Each key once, in the order queries and their (sorted) members name
	// them: deterministic without sorting every poll.
	seen := map[string]struct{}{}
	var pending []string
	for i, q := range p.queries {
		if q == nil || q.kind != readKeys {
			continue
		}
		for _, m := range p.members[i] {
			if _, dup := seen[m.key]; !dup {
				seen[m.key] = struct{}{}
				pending = append(pending, m.key)
			}
		}
	}
	reads := make(map[string]keyRead, len(pending))
	streams := p.hasStreams()
	for round := 0; round < maxKeyRounds && (len(pending) > 0 || (round == 0 && streams)); round++ {
		pipe := p.u.client.Pipeline()
		sent := make([]keyCmd, len(pending))
		for j, k := range pending {
			sent[j] = p.queueKey(ctx, pipe, k)
		}
		if round == 0 {
			p.queueStreams(ctx, pipe)
		}
		execPipe(ctx, pipe)
		pending = pending[:0]
		for _, c := range sent {
			if r, again := p.keyResult(c); again {
				pending = append(pending, c.key)
			} else {
				reads[c.key] = r
			}
		}
	}
	for _, k := range pending {
		reads[k] = keyRead{err: fmt.Errorf("key %q changed type during the poll", k)}
	}
	return reads
}

func (p *poll) queueKey(ctx context.Context, pipe goredis.Pipeliner, key string) keyCmd {
	if t := p.u.types[key]; t != nil {
		if d := queueDepth(ctx, pipe, t.typ, key); d != nil {
			return keyCmd{key: key, cached: t, depth: d}
		}
	}
	return keyCmd{key: key, typeCmd: pipe.Type(ctx, key)}
}

// keyResult reads one key's command; again reports that the key needs
// another round (its type was just learned, or the cached one is stale).
// Missing keys and types not counted are not cached: TYPE is asked each
// poll until the key becomes something we count.
func (p *poll) keyResult(c keyCmd) (r keyRead, again bool) {
	if c.depth != nil {
		n, err := c.depth.Result()
		switch {
		case err == nil:
			c.cached.used = p.now
			return keyRead{typ: c.cached.typ, depth: n}, false
		case goredis.HasErrorPrefix(err, "WRONGTYPE"):
			delete(p.u.types, c.key)
			return keyRead{}, true
		}
		return keyRead{err: p.u.serverErr(fmt.Errorf("%s %q: %w", strings.ToUpper(c.depth.Name()), c.key, err))}, false
	}
	t, err := c.typeCmd.Result()
	switch {
	case err != nil:
		return keyRead{err: p.u.serverErr(fmt.Errorf("TYPE %q: %w", c.key, err))}, false
	case counted(t):
		p.u.types[c.key] = &cachedType{typ: t, used: p.now}
		return keyRead{}, true
	}
	return keyRead{typ: t}, false
}

// keySample sums the depths of members. A literal key that does not exist
// counts 0 with a note (an empty list is a missing key in Redis, so this is
// normal for a drained queue, but a typo looks the same); a literal key of a
// type we do not count is an error. Keys matched by a pattern that vanished
// since the SCAN count 0, and those of other types are skipped with a note:
// a pattern may match bookkeeping keys beside the queues.
func keySample(members []member, reads map[string]keyRead) (sources.Sample, error) {
	var s sources.Sample
	skipped := map[string][]string{} // pattern -> types skipped
	for _, m := range members {
		r := reads[m.key]
		switch {
		case r.err != nil:
			return sources.Sample{}, r.err
		case counted(r.typ):
			s.Value += float64(r.depth)
			s.Parts = append(s.Parts, sources.Part{Name: m.key, Value: float64(r.depth), Info: r.typ})
		case r.typ == "none":
			s.Parts = append(s.Parts, sources.Part{Name: m.key, Info: "missing"})
			if m.pattern == "" {
				s.Notes = append(s.Notes, fmt.Sprintf(noteMissingKey, m.key))
			}
		case m.pattern == "":
			hint := ""
			if r.typ == "stream" {
				hint = "; read a stream with the stream key instead of listName"
			}
			return sources.Sample{}, fmt.Errorf("key %q is a %s: listName counts lists, sorted sets, sets and hashes%s", m.key, r.typ, hint)
		default:
			if !slices.Contains(skipped[m.pattern], r.typ) {
				skipped[m.pattern] = append(skipped[m.pattern], r.typ)
			}
		}
	}
	for _, pat := range slices.Sorted(maps.Keys(skipped)) {
		types := skipped[pat]
		slices.Sort(types)
		s.Notes = append(s.Notes, fmt.Sprintf(noteSkippedType, pat, strings.Join(types, ", ")))
	}
	s.Activity = s.Value
	return s, nil
}
