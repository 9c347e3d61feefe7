package inference

import (
	"context"
	"fmt"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// pushInterval is how often push queries are decided: Knative's 1 s
// scrape tick, so a pushed request wakes a model within a second.
const pushInterval = time.Second

// pushUpstream decides every push query of one Store. The Store is shared
// with the HTTP handler; the KPA state per query lives here.
type pushUpstream struct {
	store  *Store
	states map[string]*pushState
}

type pushState struct {
	kpa    kpaState
	hold   hold
	polled time.Time
}

var _ sources.Upstream = (*pushUpstream)(nil)

func newPushUpstream(s *Store) *pushUpstream {
	return &pushUpstream{store: s, states: map[string]*pushState{}}
}

// Poll decides each model from its pushed rate. The pods are not visible
// in push mode, so the KPA takes its own previous decision as the ready
// count (rate limits and the panic threshold are relative to it).
func (u *pushUpstream) Poll(_ context.Context, now time.Time, queries []sources.Query) []sources.Result {
	results := make([]sources.Result, len(queries))
	for i, sq := range queries {
		q, ok := sq.(*pushQuery)
		if !ok || q.store != u.store {
			results[i].Err = fmt.Errorf("query %q is not for upstream push://tide", sq.Key())
			continue
		}
		st := u.states[q.key]
		if st == nil {
			st = &pushState{}
			u.states[q.key] = st
		}
		results[i].Sample = st.step(now, q, u.store)
	}
	for k, st := range u.states {
		if now.Sub(st.polled) > forgetQueriesAfter {
			delete(u.states, k)
		}
	}
	return results
}

func (st *pushState) step(now time.Time, q *pushQuery, s *Store) sources.Sample {
	st.polled = now
	l := load{name: "requestRate", target: q.target,
		stable: s.rate(q.model, now, q.win.stable), panic: s.rate(q.model, now, q.win.panic)}
	ready := st.kpa.last
	d := decide(now, q.win, &st.kpa, kpaInput{ready: ready, loads: []load{l}})
	if l.panic > 0 {
		st.hold.seen(now)
	}
	activity := st.hold.activity(now, q.win, l.panic)
	desired := d.desired
	if activity > 0 {
		desired = max(desired, 1)
	}
	return sources.Sample{Value: float64(desired), Activity: activity, Parts: []sources.Part{
		decisionPart(d, desired, ready, activity, st.hold, now, q.win),
		{Name: "signal/requestRate", Value: l.stable, Info: fmt.Sprintf("stable=%.4g panic=%.4g target=%g (pushed)", l.stable, l.panic, l.target)},
	}}
}

func (u *pushUpstream) Close() error { return nil }
