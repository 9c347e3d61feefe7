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
	// Probe reports, per query in order, whether it should be polled now.
	// A query the probe cannot judge is not woken; err says why, and the
	// normal poll still reads it: a failed probe is never a zero.
	Probe(ctx context.Context, now time.Time, queries []Query) (wake []bool, err error)
}

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
	wake, err := p.Probe(ctx, opts.Now(), qs)
	cancel()
	opts.Metrics.Probes.WithLabelValues(u.ep.Name).Inc()
	if err != nil {
		opts.Metrics.ProbeErrors.WithLabelValues(u.ep.Name).Inc()
	}
	var woken []*entry
	for i, ent := range ents {
		if i < len(wake) && wake[i] {
			woken = append(woken, ent)
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
