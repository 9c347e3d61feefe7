package redis

import (
	"context"
	"hash/fnv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// How a poll paces its key reads:
//
//   - an idle key (missing or empty at its last read: Redis deletes an
//     empty list, set, sorted set or hash) is checked with the other idle
//     keys in one EXISTS per existsChunk keys, every poll, and read only
//     when its chunk has a key that exists. Activation (0 -> entries) is
//     seen by the next poll, as before, at a fraction of the commands;
//   - a key whose depth changed within the last stableFor of poll time is
//     read every poll;
//   - a still key with entries (reads stableFor apart found the same
//     depth, and none between them another) is read every
//     stableEvery-th poll, each key in its own phase so that the reads
//     spread evenly over polls; between reads its last depth is served,
//     in a sample stamped with the poll's time like every other. It is
//     active already (unless a trigger's activationListLength is above its
//     depth), so the cost is that when a queue nobody moved for stableFor
//     starts to move, it may be seen up to stableEvery-1 polls late.
//
// A poll that serves resting keys sends one PING with its first round, and
// fails them when the server does not answer it: a cached depth is never
// served from a server that is down.
//
// In cluster mode every key is read on every poll, as before: a multi-key
// EXISTS needs every key in one hash slot, and one PING would not vouch
// for every node.
const (
	stableFor   = 10 * time.Second
	stableEvery = 3
	existsChunk = 100
	// maxPipeline bounds the commands of one pipeline, so that a poll of
	// 10,000 keys is a few round trips of bounded size rather than one
	// 10,000-command exchange that holds both ends.
	maxPipeline = 1000
)

// keyState is what the polls know about one key.
type keyState struct {
	typ   string  // the counted type TYPE answered; "" when not known
	last  keyRead // the last good read, when have
	have  bool
	since time.Time // poll time of the read that found last first
	seen  time.Time // poll time of the latest read that found last
	used  time.Time // latest poll that wanted the key
	phase uint64    // spreads the key's stable reads over polls
}

func newKeyState(key string) *keyState {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	return &keyState{phase: h.Sum64() % stableEvery}
}

// idle reports whether the key was missing or empty at its last read.
func (k *keyState) idle() bool {
	return k.have && k.last.depth == 0 && (k.last.typ == "none" || counted(k.last.typ))
}

// rests reports whether poll seq may serve the key's last depth unread:
// reads at least stableFor apart found the same depth, and it is not the
// key's turn.
func (k *keyState) rests(seq uint64) bool {
	return k.have && k.last.depth > 0 && k.seen.Sub(k.since) >= stableFor && (seq+k.phase)%stableEvery != 0
}

// record keeps the outcome of a read at now.
func (k *keyState) record(r keyRead, now time.Time) {
	switch {
	case r.err != nil:
		k.have = false
	case k.have && r.typ == k.last.typ && r.depth == k.last.depth:
		k.seen = now
	default:
		k.last, k.have, k.since, k.seen = r, true, now, now
	}
}

// scratch is the per-poll working memory an Upstream keeps between polls.
type scratch struct {
	seen          map[string]struct{}
	reads         map[string]keyRead
	pending, idle []string
	rested        []string
	sent          []keyCmd
	checks        []existsCheck
}

// existsCheck is one EXISTS over a chunk of idle keys.
type existsCheck struct {
	keys []string
	cmd  *goredis.IntCmd
}

// pipes splits one round's commands into pipelines of at most maxPipeline.
type pipes struct {
	c   goredis.UniversalClient
	all []goredis.Pipeliner
}

// next returns a pipeline with room for n more commands (the last one,
// whatever its size, when n alone is over the bound).
func (b *pipes) next(n int) goredis.Pipeliner {
	if k := len(b.all); k > 0 && b.all[k-1].Len()+n <= maxPipeline {
		return b.all[k-1]
	}
	if k := len(b.all); k > 0 && b.all[k-1].Len() == 0 {
		return b.all[k-1]
	}
	p := b.c.Pipeline()
	b.all = append(b.all, p)
	return p
}

// exec runs the pipelines one after the other.
func (b *pipes) exec(ctx context.Context) {
	for _, p := range b.all {
		if p.Len() > 0 {
			execPipe(ctx, p)
		}
	}
}
