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

// maxKeyRounds bounds the rounds of one poll: the worst case is an idle key
// whose chunk has a key that exists (EXISTS), whose cached type went stale
// (depth answers WRONGTYPE), then TYPE, then depth again.
const maxKeyRounds = 4

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
	st      *keyState
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
// in rounds of pipelines, paced as pace.go says. The first round also
// carries the stream reads, so that a steady-state poll is one round trip
// per node and per maxPipeline commands.
func (p *poll) readKeys(ctx context.Context) map[string]keyRead {
	u, sc := p.u, &p.u.scratch
	if sc.seen == nil {
		sc.seen, sc.reads = map[string]struct{}{}, map[string]keyRead{}
	}
	clear(sc.seen)
	clear(sc.reads)
	reads := sc.reads
	u.seq++
	// Each key once, in the order queries and their (sorted) members name
	// them: deterministic without sorting every poll.
	pending, idle, rested := sc.pending[:0], sc.idle[:0], sc.rested[:0]
	for i, q := range p.queries {
		if q == nil || q.kind != readKeys {
			continue
		}
		for _, m := range p.members[i] {
			if _, dup := sc.seen[m.key]; dup {
				continue
			}
			sc.seen[m.key] = struct{}{}
			st := u.keys[m.key]
			if st == nil {
				st = newKeyState(m.key)
				u.keys[m.key] = st
			}
			st.used = p.now
			switch {
			case st.rests(u.seq) && u.cluster == nil:
				rested = append(rested, m.key)
			case st.idle() && u.cluster == nil:
				idle = append(idle, m.key)
			default:
				pending = append(pending, m.key)
			}
		}
	}
	streams := p.hasStreams()
	var ping *goredis.StatusCmd
	for round := 0; round < maxKeyRounds && (len(pending)+len(idle)+len(rested) > 0 || (round == 0 && streams)); round++ {
		b := pipes{c: u.client}
		if round == 0 && streams {
			p.queueStreams(ctx, b.next(0))
		}
		if round == 0 && len(rested) > 0 {
			// A resting key's depth is served only from a server that
			// answers this poll.
			ping = b.next(1).Ping(ctx)
		}
		sent, checks := sc.sent[:0], sc.checks[:0]
		for k := range slices.Chunk(idle, existsChunk) {
			checks = append(checks, existsCheck{keys: k, cmd: b.next(1).Exists(ctx, k...)})
		}
		for _, k := range pending {
			sent = append(sent, p.queueKey(ctx, b.next(1), k))
		}
		b.exec(ctx)
		pending, idle = pending[:0], idle[:0]
		for _, c := range checks {
			n, err := c.cmd.Result()
			switch {
			case err != nil:
				for _, k := range c.keys {
					p.keyDone(reads, k, keyRead{err: u.serverErr(fmt.Errorf("EXISTS %q: %w", k, err))})
				}
			case n > 0: // something in the chunk exists: read each key
				pending = append(pending, c.keys...)
			default:
				for _, k := range c.keys {
					p.keyDone(reads, k, u.keys[k].last)
				}
			}
		}
		for _, c := range sent {
			if r, again := p.keyResult(c); again {
				pending = append(pending, c.key)
			} else {
				p.keyDone(reads, c.key, r)
			}
		}
		sc.sent, sc.checks = sent[:0], checks[:0]
	}
	for _, k := range pending {
		p.keyDone(reads, k, keyRead{err: fmt.Errorf("key %q changed type during the poll", k)})
	}
	for _, k := range rested {
		if err := ping.Err(); err != nil {
			p.keyDone(reads, k, keyRead{err: u.serverErr(fmt.Errorf("PING: %w", err))})
		} else {
			reads[k] = u.keys[k].last
		}
	}
	sc.pending, sc.idle, sc.rested = pending[:0], idle[:0], rested[:0]
	return reads
}

// keyDone records the read of key for this poll and for its pace.
func (p *poll) keyDone(reads map[string]keyRead, key string, r keyRead) {
	reads[key] = r
	p.u.keys[key].record(r, p.now)
}

func (p *poll) queueKey(ctx context.Context, pipe goredis.Pipeliner, key string) keyCmd {
	st := p.u.keys[key]
	if st.typ != "" {
		if d := queueDepth(ctx, pipe, st.typ, key); d != nil {
			return keyCmd{key: key, st: st, depth: d}
		}
	}
	return keyCmd{key: key, st: st, typeCmd: pipe.Type(ctx, key)}
}

// keyResult reads one key's command; again reports that the key needs
// another round (its type was just learned, or the cached one is stale).
// Only counted types are cached: a missing key or one of another type is
// asked TYPE whenever it is read, until it becomes something we count.
func (p *poll) keyResult(c keyCmd) (r keyRead, again bool) {
	if c.depth != nil {
		n, err := c.depth.Result()
		switch {
		case err == nil:
			return keyRead{typ: c.st.typ, depth: n}, false
		case goredis.HasErrorPrefix(err, "WRONGTYPE"):
			c.st.typ = ""
			return keyRead{}, true
		}
		return keyRead{err: p.u.serverErr(fmt.Errorf("%s %q: %w", strings.ToUpper(c.depth.Name()), c.key, err))}, false
	}
	t, err := c.typeCmd.Result()
	switch {
	case err != nil:
		return keyRead{err: p.u.serverErr(fmt.Errorf("TYPE %q: %w", c.key, err))}, false
	case counted(t):
		c.st.typ = t
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
	s := sources.Sample{Parts: make([]sources.Part, 0, len(members))}
	var skipped map[string][]string // pattern -> types skipped; most polls have none
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
			if skipped == nil {
				skipped = map[string][]string{}
			}
			if !slices.Contains(skipped[m.pattern], r.typ) {
				skipped[m.pattern] = append(skipped[m.pattern], r.typ)
			}
		}
	}
	if len(skipped) == 0 {
		s.Activity = s.Value
		return s, nil
	}
	for _, pat := range slices.Sorted(maps.Keys(skipped)) {
		types := skipped[pat]
		slices.Sort(types)
		s.Notes = append(s.Notes, fmt.Sprintf(noteSkippedType, pat, strings.Join(types, ", ")))
	}
	s.Activity = s.Value
	return s, nil
}
