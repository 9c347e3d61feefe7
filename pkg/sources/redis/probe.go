package redis

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

var _ sources.Prober = (*Upstream)(nil)

// Probe is the activation probe (sources.Prober). The engine calls it only
// for queries whose last sample had no activity; it judges only their
// idle keys (missing or empty at their last read: Redis deletes an empty
// list, set, sorted set or hash), and wakes a query when one of them now
// exists. Idle keys are checked in one EXISTS per existsChunk keys (one per
// key in cluster mode, where a multi-key EXISTS must stay in one slot),
// however many queries share them. Keys matched by a pattern, keys with
// entries below an activation threshold and streams are not judged: the
// normal poll reads them. A query whose members are all idle and still
// missing is Quiet: its last sample (0) still holds.
func (u *Upstream) Probe(ctx context.Context, _ time.Time, queries []sources.Query) ([]sources.Verdict, error) {
	u.stats.probes.Add(1)
	verdicts := make([]sources.Verdict, len(queries))
	watch := map[string][]int{} // idle key -> queries it may wake
	var keys []string
	u.mu.Lock()
	for i, sq := range queries {
		q, ok := sq.(*query)
		if !ok || q.dep.endpoint.Key != u.dep.endpoint.Key || len(q.static) == 0 {
			continue
		}
		all := true // every member idle: the probe can vouch for the query
		for _, m := range q.static {
			if st := u.keys[m.key]; st != nil && st.idle() {
				if _, seen := watch[m.key]; !seen {
					keys = append(keys, m.key)
				}
				watch[m.key] = append(watch[m.key], i)
			} else {
				all = false
			}
		}
		if all {
			verdicts[i] = sources.Quiet
		}
	}
	u.mu.Unlock()
	if len(keys) == 0 {
		return verdicts, nil
	}

	// Round one: EXISTS over chunks of idle keys. Round two, only for the
	// chunks that found something: EXISTS per key, so a new entry wakes
	// its own queries and not the chunk's other 99.
	found, failed, err := u.exists(ctx, keys, existsChunk)
	if len(found) > 0 && u.cluster == nil {
		var failed2 []string
		var err2 error
		found, failed2, err2 = u.exists(ctx, found, 1)
		failed, err = append(failed, failed2...), cmp.Or(err, err2)
	}
	for _, k := range failed {
		for _, i := range watch[k] {
			verdicts[i] = sources.Unjudged
		}
	}
	for _, k := range found {
		for _, i := range watch[k] {
			verdicts[i] = sources.Wake
		}
	}
	if err != nil {
		return verdicts, u.serverErr(fmt.Errorf("activation probe: %w", err))
	}
	return verdicts, nil
}

// exists sends one EXISTS per chunk of keys (per key in cluster mode,
// where a multi-key EXISTS must stay in one hash slot) and returns the keys
// of the chunks that found at least one, and those of the chunks whose
// EXISTS failed (judged nothing); the error counts the failures and names
// the first.
func (u *Upstream) exists(ctx context.Context, keys []string, chunk int) (found, failedKeys []string, _ error) {
	if u.cluster != nil {
		chunk = 1
	}
	b := pipes{c: u.client}
	var checks []existsCheck
	for k := range slices.Chunk(keys, chunk) {
		checks = append(checks, existsCheck{keys: k, cmd: b.next(1).Exists(ctx, k...)})
	}
	b.exec(ctx)
	var (
		firstErr error
		failed   int
	)
	for _, c := range checks {
		n, err := c.cmd.Result()
		switch {
		case err != nil:
			failedKeys = append(failedKeys, c.keys...)
			if failed++; firstErr == nil {
				firstErr = err
			}
		case n > 0:
			found = append(found, c.keys...)
		}
	}
	if firstErr != nil {
		return found, failedKeys, fmt.Errorf("%d of %d EXISTS failed, first: %w", failed, len(checks), firstErr)
	}
	return found, failedKeys, nil
}
