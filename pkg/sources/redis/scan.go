package redis

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

const (
	// globRefresh is how often, in poll time, a pattern is SCANned again:
	// new queues are counted at most this late, and SCAN's cost (it walks
	// the whole keyspace) is paid twice a minute, not every poll.
	globRefresh = 30 * time.Second
	// maxGlobKeys bounds the keys one pattern may add to a poll.
	maxGlobKeys = 10000
	// scanCount is SCAN's COUNT hint: keys examined per call, not returned.
	scanCount = 1000
)

// Notes of a pattern; the engine logs each once per query.
const (
	noteNoMatch = "pattern %q matches no key: counted as 0"
	noteTooMany = "pattern %q matches more than %d keys: only %d of them are counted, so the depth is at least the value"
)

// globState is the outcome of a pattern's last SCAN.
type globState struct {
	keys    []string // sorted
	capped  bool     // more than maxGlobKeys matched; keys holds maxGlobKeys
	scanned time.Time
	used    time.Time
}

func (g *globState) notes(pattern string) []string {
	switch {
	case len(g.keys) == 0:
		return []string{fmt.Sprintf(noteNoMatch, pattern)}
	case g.capped:
		return []string{fmt.Sprintf(noteTooMany, pattern, maxGlobKeys, maxGlobKeys)}
	}
	return nil
}

// glob returns the keys pattern matches, SCANning when the last scan is
// globRefresh old (or in the future: the clock moved back). A failed scan
// is an error for the queries that use the pattern; the next poll scans
// again.
func (u *Upstream) glob(ctx context.Context, now time.Time, pattern string) (*globState, error) {
	if g, ok := u.globs[pattern]; ok {
		if age := now.Sub(g.scanned); age >= 0 && age < globRefresh {
			g.used = now
			return g, nil
		}
	}
	keys, capped, err := u.scan(ctx, pattern)
	if err != nil {
		return nil, err
	}
	g := &globState{keys: keys, capped: capped, scanned: now, used: now}
	u.globs[pattern] = g
	return g, nil
}

// scan walks the keyspace with SCAN MATCH, never KEYS (which blocks the
// server for the whole walk). In cluster mode every master is walked, since
// each holds only its slots' keys. It stops early once more than
// maxGlobKeys keys matched.
func (u *Upstream) scan(ctx context.Context, pattern string) ([]string, bool, error) {
	var mu sync.Mutex
	seen := map[string]struct{}{}
	full := func() bool { return len(seen) > maxGlobKeys }
	walk := func(ctx context.Context, c goredis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, scanCount).Result()
			if err != nil {
				return err
			}
			mu.Lock()
			for _, k := range keys {
				seen[k] = struct{}{} // SCAN may return a key twice
			}
			stop := full()
			mu.Unlock()
			if stop || next == 0 {
				return nil
			}
			cursor = next
		}
	}
	var err error
	if u.cluster != nil {
		err = u.cluster.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return walk(ctx, c) })
	} else {
		err = walk(ctx, u.client)
	}
	if err != nil {
		return nil, false, u.serverErr(fmt.Errorf("SCAN MATCH %q: %w", pattern, err))
	}
	keys := slices.Sorted(maps.Keys(seen))
	if capped := len(keys) > maxGlobKeys; capped {
		return keys[:maxGlobKeys], true, nil
	}
	return keys, false, nil
}
