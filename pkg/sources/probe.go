package sources

import (
	"context"
	"time"
)

// Prober is an Upstream that can tell, more cheaply than a Poll, which of
// its inactive queries may have new demand (Kafka: log end offsets only,
// one request per partition leader). The engine probes queries whose last
// sample had no activity, every Options.ProbeInterval, and polls the ones
// the probe wakes at once, so their watchers (StreamIsActive) hear of the
// new demand within one probe interval instead of one poll interval.
type Prober interface {
	// Probe reports, per query in order, what the probe found. A query
	// the probe cannot judge (or whose reads failed; err says why) is
	// Unjudged, and the normal poll reads it: a failed probe is never a
	// zero.
	Probe(ctx context.Context, now time.Time, queries []Query) ([]Verdict, error)
}

// Verdict is what a probe found for one query.
type Verdict uint8

const (
	// Unjudged: the probe cannot tell; the query keeps its poll schedule.
	Unjudged Verdict = iota
	// Quiet: nothing its last poll did not count has arrived since, so its
	// last sample still holds (no activity then, none now).
	Quiet
	// Wake: new demand may have arrived; the query is polled at once.
	Wake
)

// probeTicker returns the probe tick channel of u, nil when u does not
// probe (not a Prober, probing disabled, or no faster than polling).
func (u *upstream) probeTicker() (<-chan time.Time, func()) {
	every := u.e.opts.ProbeInterval
	if _, ok := u.up.(Prober); !ok || every <= 0 || every >= u.interval() {
		return nil, func() {}
	}
	t := time.NewTicker(every)
	return t.C, t.Stop
}

// probe asks the upstream which inactive queries have news and polls those
// at once. Queries with activity, with no good sample yet, whose latest
// poll failed, or resting (woken, and the poll found no activity: consumers
// that keep up) keep the normal schedule only.
func (u *upstream) probe() {
	p := u.up.(Prober)
	opts := &u.e.opts
	u.mu.RLock()
	var ents []*entry
	for _, ent := range u.entries {
		if ent.rest.Load() {
			continue
		}
		if st := ent.state.Load(); st != nil && st.hasGood && st.err == nil && st.good.Activity == 0 {
			ents = append(ents, ent)
		}
	}
	u.mu.RUnlock()
	if len(ents) == 0 {
		return
	}
	qs := make([]Query, len(ents))
	for i, ent := range ents {
		qs[i] = ent.q
	}
	ctx, cancel := context.WithTimeout(u.e.ctx, opts.ProbeInterval)
	now := opts.Now()
	verdicts, err := p.Probe(ctx, now, qs)
	cancel()
	opts.Metrics.Probes.WithLabelValues(u.ep.Name).Inc()
	if err != nil {
		opts.Metrics.ProbeErrors.WithLabelValues(u.ep.Name).Inc()
	}
	var woken []*entry
	for i, ent := range ents {
		switch {
		case i >= len(verdicts):
		case verdicts[i] == Wake:
			woken = append(woken, ent)
		case verdicts[i] == Quiet && opts.IdlePollInterval > 0:
			ent.vouch(now)
		}
	}
	if len(woken) == 0 {
		return
	}
	opts.Metrics.ProbeWakes.WithLabelValues(u.ep.Name).Add(float64(len(woken)))
	u.poll(u.e.ctx, opts.Now(), woken)
	for _, ent := range woken {
		if st := ent.state.Load(); st != nil && st.err == nil && st.good.Activity == 0 {
			ent.rest.Store(true)
		}
	}
}

// vouch restamps ent's last sample at now after a Quiet probe: with no
// activity at its last poll and nothing new since, the sample still holds.
// A result recorded meanwhile wins (compare-and-swap).
func (ent *entry) vouch(now time.Time) {
	st := ent.state.Load()
	if st == nil || !st.hasGood || st.err != nil || st.good.Activity != 0 || now.Before(st.good.Time) {
		return
	}
	next := *st
	next.good.Time = now
	if ent.state.CompareAndSwap(st, &next) {
		ent.vouched.Store(now.UnixNano())
	}
}

// skipIdle reports whether pollAll may leave ent out at now: probes have
// vouched for it since its last poll, which was in the same slot of
// IdlePollInterval. Slots are shifted per query (phase), so queries that
// went idle together are not all polled in the same tick.
func (ent *entry) skipIdle(now time.Time, every time.Duration) bool {
	if every <= 0 {
		return false
	}
	polled := ent.polled.Load()
	shift := int64(ent.phase % uint64(every))
	slot := func(t int64) int64 { return (t + shift) / int64(every) }
	return ent.vouched.Load() > polled && slot(now.UnixNano()) == slot(polled)
}
