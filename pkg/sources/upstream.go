package sources

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// upstream is one shared client and its poll loop.
type upstream struct {
	e  *Engine
	ep Endpoint
	up Upstream
	// busy serialises Poll calls: an Upstream may keep state between polls
	// (metadata caches, previous offsets) and need not be reentrant.
	busy chan struct{}

	mu      sync.RWMutex
	entries map[string]*entry

	failing bool // the last poll failed every query; for logging transitions only
}

func newUpstream(e *Engine, ep Endpoint, up Upstream) *upstream {
	return &upstream{e: e, ep: ep, up: up, busy: make(chan struct{}, 1), entries: map[string]*entry{}}
}

// interval is the upstream's own poll interval, or the engine's.
func (u *upstream) interval() time.Duration {
	if u.ep.Interval > 0 {
		return u.ep.Interval
	}
	return u.e.opts.PollInterval
}

// timeout bounds one poll: the engine's PollTimeout, but never longer than
// an upstream's own (shorter) interval, so polls do not queue up.
func (u *upstream) timeout() time.Duration {
	if u.ep.Interval > 0 {
		return min(u.e.opts.PollTimeout, u.ep.Interval)
	}
	return u.e.opts.PollTimeout
}

// loop polls every interval until the engine closes or no query is left.
func (u *upstream) loop() {
	defer u.e.wg.Done()
	t := time.NewTicker(u.interval())
	defer t.Stop()
	probe, stop := u.probeTicker()
	defer stop()
	for {
		select {
		case <-u.e.ctx.Done():
			return
		case <-t.C:
			if !u.pollAll() {
				return
			}
		case <-probe:
			u.probe()
		}
	}
}

// pollAll polls every live query once. It returns false when the upstream
// has been retired for lack of queries.
func (u *upstream) pollAll() bool {
	opts := &u.e.opts
	now := opts.Now()
	idleBefore := now.Add(-opts.IdleTTL).UnixNano()

	// The scan holds the read lock only, so reads of cached samples (which
	// take it too) are not held up by a scan of 10,000 entries; the few
	// entries to drop are checked again under the write lock.
	unused := func(ent *entry) bool {
		return ent.lastUsed.Load() < idleBefore && !ent.flight.Load() && !ent.watched()
	}
	u.mu.RLock()
	queries := make([]*entry, 0, len(u.entries))
	var drop []string
	for k, ent := range u.entries {
		if unused(ent) {
			drop = append(drop, k)
			continue
		}
		ent.rest.Store(false)
		queries = append(queries, ent)
	}
	u.mu.RUnlock()
	if len(drop) > 0 {
		u.mu.Lock()
		for _, k := range drop {
			switch ent := u.entries[k]; {
			case ent == nil:
			case unused(ent):
				delete(u.entries, k)
				u.forgetNotes(ent)
			default:
				ent.rest.Store(false)
				queries = append(queries, ent)
			}
		}
		u.mu.Unlock()
	}
	if len(queries) == 0 {
		return !u.e.retire(u)
	}
	opts.Metrics.Queries.WithLabelValues(u.ep.Name).Set(float64(len(queries)))
	due := queries[:0]
	for _, ent := range queries {
		if !ent.skipIdle(now, opts.IdlePollInterval) {
			due = append(due, ent)
		}
	}
	if len(due) > 0 {
		u.poll(u.e.ctx, now, due)
	}
	return true
}

// startFirst takes the first sample of ent in the background unless one is
// already under way; every Read waiting on ent.ready shares it.
func (u *upstream) startFirst(ent *entry) {
	if !ent.flight.CompareAndSwap(false, true) {
		return
	}
	u.e.wg.Add(1)
	go func() {
		defer u.e.wg.Done()
		defer ent.flight.Store(false)
		ctx, cancel := context.WithTimeout(u.e.ctx, u.e.opts.FirstSampleTimeout)
		defer cancel()
		u.poll(ctx, u.e.opts.Now(), []*entry{ent})
	}()
}

// poll runs one batched Poll and records its results.
func (u *upstream) poll(ctx context.Context, now time.Time, ents []*entry) {
	opts := &u.e.opts
	select {
	case u.busy <- struct{}{}:
	case <-ctx.Done():
		err := fmt.Errorf("%s: poll did not start: %w: %w", u.ep.Name, ErrUnavailable, ctx.Err())
		for _, ent := range ents {
			u.record(ent, Result{Err: err}, now)
		}
		return
	}
	defer func() { <-u.busy }()

	ctx, cancel := context.WithTimeout(ctx, u.timeout())
	defer cancel()
	qs := make([]Query, len(ents))
	for i, ent := range ents {
		qs[i] = ent.q
	}
	start := time.Now() // wall time of the poll itself, for the latency histogram only
	results := u.up.Poll(ctx, now, qs)
	took := time.Since(start)
	opts.Metrics.PollDuration.WithLabelValues(u.ep.Name).Observe(took.Seconds())
	if took >= u.interval() {
		// The ticker dropped at least one tick meanwhile: the upstream is
		// read less often than configured.
		opts.Metrics.PollOverruns.WithLabelValues(u.ep.Name).Inc()
	}

	if len(results) != len(ents) {
		err := fmt.Errorf("%s: upstream returned %d results for %d queries: %w",
			u.ep.Name, len(results), len(ents), ErrUnavailable)
		results = make([]Result, len(ents))
		for i := range results {
			results[i].Err = err
		}
	}
	failed := 0
	var firstErr error
	for i, ent := range ents {
		if results[i].Err != nil {
			failed++
			if firstErr == nil {
				firstErr = results[i].Err
			}
		}
		u.record(ent, results[i], now)
	}
	opts.Metrics.QueryErrors.WithLabelValues(u.ep.Name).Add(float64(failed))
	if failed < len(ents) {
		opts.Metrics.LastPoll.WithLabelValues(u.ep.Name).Set(float64(now.UnixNano()) / 1e9)
	}
	u.logTransition(failed == len(ents), failed, len(ents), firstErr)
}

// logTransition logs when the upstream starts or stops failing as a whole,
// not on every poll, so an outage is one line and not thousands.
func (u *upstream) logTransition(allFailed bool, failed, total int, err error) {
	log := u.e.opts.Logger
	if u.e.ctx.Err() != nil {
		return // shutting down: cancelled polls are not an outage
	}
	if allFailed {
		u.e.opts.Metrics.PollErrors.WithLabelValues(u.ep.Name).Inc()
	}
	switch {
	case allFailed && !u.failing:
		log.Warn("upstream unavailable", "upstream", u.ep.Name, "queries", total, "err", err)
	case !allFailed && u.failing:
		log.Info("upstream recovered", "upstream", u.ep.Name, "failed_queries", failed)
	}
	u.failing = allFailed
}

// record stores one result for ent and signals its watchers.
func (u *upstream) record(ent *entry, r Result, now time.Time) {
	prev := ent.state.Load()
	next := &state{}
	if prev != nil {
		next.good, next.hasGood = prev.good, prev.hasGood
	}
	if r.Err != nil {
		if !errors.Is(r.Err, ErrUnavailable) && !errors.Is(r.Err, ErrNotFound) {
			r.Err = fmt.Errorf("%w: %w", ErrUnavailable, r.Err)
		}
		next.err = fmt.Errorf("%s: %w", u.ep.Name, r.Err)
	} else {
		r.Sample.Time = now
		next.good, next.hasGood = r.Sample, true
		u.reportNotes(ent, r.Sample.Notes)
		u.reportExcluded(ent, r.Sample.Excluded)
	}
	ent.state.Store(next)
	ent.polled.Store(now.UnixNano())
	if prev == nil {
		ent.readyOne.Do(func() { close(ent.ready) })
	}
	ent.notify()
}

// reportNotes logs each new note once per query and keeps the notes metric
// in step with what the source reports now.
func (u *upstream) reportNotes(ent *entry, notes []string) {
	ent.mu.Lock()
	defer ent.mu.Unlock()
	m := u.e.opts.Metrics.Notes
	for n, logged := range ent.notes {
		if logged && !slices.Contains(notes, n) {
			m.DeleteLabelValues(u.ep.Name, ent.key, n)
			ent.notes[n] = false // logged once already; stays quiet if it returns
		}
	}
	for _, n := range notes {
		if _, seen := ent.notes[n]; !seen {
			u.e.opts.Logger.Info("source note", "upstream", u.ep.Name, "query", ent.key, "note", n)
		}
		ent.notes[n] = true
		m.WithLabelValues(u.ep.Name, ent.key, n).Set(1)
	}
}

// reportExcluded keeps the excluded-parts gauge; a query that never
// excluded anything has no series.
func (u *upstream) reportExcluded(ent *entry, n int) {
	ent.mu.Lock()
	defer ent.mu.Unlock()
	if n == 0 && !ent.excluded {
		return
	}
	ent.excluded = true
	u.e.opts.Metrics.Excluded.WithLabelValues(u.ep.Name, ent.key).Set(float64(n))
}

func (u *upstream) forgetNotes(ent *entry) {
	ent.mu.Lock()
	defer ent.mu.Unlock()
	if ent.excluded {
		u.e.opts.Metrics.Excluded.DeleteLabelValues(u.ep.Name, ent.key)
	}
	for n := range ent.notes {
		u.e.opts.Metrics.Notes.DeleteLabelValues(u.ep.Name, ent.key, n)
	}
}
