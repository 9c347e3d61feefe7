package strategy

import (
	"sync"
	"time"
)

// Latch is one trigger's activation state. Steps are ordered by sample
// time, not by call: a sample older than one already applied changes
// nothing, and the same sample applied twice (an RPC and a stream reading
// the same cache entry) counts once. That keeps the answer a function of
// the upstream's history, so two scaler replicas polling the same upstream
// agree whichever one KEDA asks. The zero value is inactive.
type Latch struct {
	mu      sync.Mutex
	active  bool
	since   time.Time // when it last became active
	seen    time.Time // time of the newest sample applied
	unknown time.Time // first sample of the current run of unknown ones; zero after a known one
}

// Step applies the sample taken at t with the given activity and returns
// whether the trigger is active. An unknown sample (a source's empty or
// NaN answer read as 0) never activates; while active it keeps the latch
// active until samples have been unknown for a.UnknownGrace since the
// first of the run, and then counts as its activity. A known sample ends
// the run.
func (l *Latch) Step(a Activation, t time.Time, activity float64, unknown bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !t.After(l.seen) {
		return l.active
	}
	l.seen = t
	if !unknown {
		l.unknown = time.Time{}
		l.active, l.since = Next(a, l.active, l.since, t, activity)
		return l.active
	}
	if l.unknown.IsZero() {
		l.unknown = t
	}
	if l.active && t.Sub(l.unknown) >= a.UnknownGrace {
		l.active, l.since = Next(a, l.active, l.since, t, activity)
	}
	return l.active
}

// Active returns the state after the newest sample applied.
func (l *Latch) Active() (active bool, since time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active, l.since
}

// Next is the transition: from inactive, activity above On activates (and
// restarts the minimum active time); from active, activity at or below Off
// deactivates, once MinActive has passed since activation.
func Next(a Activation, active bool, since, t time.Time, activity float64) (bool, time.Time) {
	switch {
	case !active && activity > a.On:
		return true, t
	case active && activity <= a.Off && t.Sub(since) >= a.MinActive:
		return false, time.Time{}
	}
	return active, since
}
