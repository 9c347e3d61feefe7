package redis

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/pkg/sources"
)

// Upstream is the shared client of one Redis deployment. It answers every
// query of that deployment in one batched Poll and is safe for concurrent
// use (Polls run one at a time; the engine serialises them anyway).
type Upstream struct {
	dep     *deployment
	client  goredis.UniversalClient
	cluster *goredis.ClusterClient // nil unless cluster mode
	where   string                 // names the deployment in errors, without credentials
	stats   counters

	mu sync.Mutex // held for a whole Poll: the caches below are the poll's
	// keys holds what the polls learned about every key they read: its
	// type, so that a steady-state poll sends no TYPE, and its last depth,
	// which paces its reads (see pace.go).
	keys map[string]*keyState
	// seq counts polls; it spreads the reads of stable keys over polls.
	seq uint64
	// scratch is reused by every poll, so a steady poll allocates little.
	scratch scratch
	// globs caches the keys each pattern matched at its last SCAN.
	globs map[string]*globState
	// flows holds the rate estimate of every stream-with-group query, by
	// query key.
	flows map[string]*flowState
	// reloadSlots: the last poll of a cluster failed other than NotFound;
	// the next one reloads the slot map first.
	reloadSlots bool
}

var _ sources.Upstream = (*Upstream)(nil)

// forgetAfter drops cached types, patterns and rate estimates no poll has
// read for this long (queries that went away), bounding the caches. An
// estimate older than this would be skipped anyway (lagtime's MaxGap).
const forgetAfter = 15 * time.Minute

// Stats counts what the upstream sent since it was opened. A round trip is
// one exchange with one node: a pipeline, or a single command (SCAN,
// cluster topology reads, connection setup). Retries count.
type Stats struct {
	Polls      int64
	RoundTrips int64
	Pipelines  int64
	Commands   int64
	Probes     int64 // activation probes (Probe calls)
}

type counters struct {
	polls, roundTrips, pipelines, commands, probes atomic.Int64
}

func newUpstream(d *deployment) *Upstream {
	u := &Upstream{dep: d, keys: map[string]*keyState{}, globs: map[string]*globState{}, flows: map[string]*flowState{}}
	u.client, u.cluster = newClient(d, countHook{&u.stats})
	list := strings.Join(d.addrs, ",")
	switch d.mode {
	case modeCluster:
		u.where = "redis cluster " + list
	case modeSentinel:
		u.where = fmt.Sprintf("redis master %q via sentinels %s", d.master, list)
	default:
		u.where = "redis " + list
	}
	return u
}

// Stats returns the counters, for tests and benchmarks.
func (u *Upstream) Stats() Stats {
	return Stats{
		Polls:      u.stats.polls.Load(),
		RoundTrips: u.stats.roundTrips.Load(),
		Pipelines:  u.stats.pipelines.Load(),
		Commands:   u.stats.commands.Load(),
		Probes:     u.stats.probes.Load(),
	}
}

// Close closes every connection of the client.
func (u *Upstream) Close() error { return u.client.Close() }

// serverErr names the deployment in an error from the wire: go-redis errors
// name no address (a refused password) or one node only.
func (u *Upstream) serverErr(err error) error { return fmt.Errorf("%s: %w", u.where, err) }

// forget drops cache entries that no poll has used for forgetAfter.
func (u *Upstream) forget(now time.Time) {
	for k, t := range u.keys {
		if now.Sub(t.used) > forgetAfter {
			delete(u.keys, k)
		}
	}
	for k, g := range u.globs {
		if now.Sub(g.used) > forgetAfter {
			delete(u.globs, k)
		}
	}
	for k, f := range u.flows {
		if now.Sub(f.used) > forgetAfter {
			delete(u.flows, k)
		}
	}
}

// countHook counts round trips and commands. In cluster mode it sits on
// every node client, where a cluster pipeline arrives already split by node.
type countHook struct{ c *counters }

func (h countHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h countHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.c.roundTrips.Add(1)
		h.c.commands.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.c.roundTrips.Add(1)
		h.c.pipelines.Add(1)
		h.c.commands.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}
