package hpa

import "time"

// State is what the controller remembers about one HPA between syncs. The
// zero value is a controller that has just started (or just seen the HPA):
// upstream keeps this in memory only, so a kube-controller-manager restart
// resets it. Sync updates it in place; a State must not be shared between
// goroutines or HPAs.
type State struct {
	// Recommendations holds the unstabilized desired count of each sync
	// that reached stabilization, reusing expired slots.
	Recommendations []Recommendation
	// ScaleUpEvents and ScaleDownEvents hold the size of each rescale made
	// while the HPA had a behavior, for the rate policies.
	ScaleUpEvents   []ScaleEvent
	ScaleDownEvents []ScaleEvent
}

// Recommendation is one sync's desired count before stabilization.
type Recommendation struct {
	Replicas int32
	Time     time.Time
}

// ScaleEvent is one rescale in one direction.
type ScaleEvent struct {
	// Change is the number of replicas added or removed, never negative.
	Change int32
	Time   time.Time
	// Outdated marks an event older than the direction's longest policy
	// period when the last event was stored; its slot is reused. It does
	// not stop the event from counting if a longer period appears later.
	Outdated bool
}

// seed is upstream's recordInitialRecommendation: the first sync after the
// controller starts records the current count as if it had been recommended,
// stamped now. A freshly started controller therefore cannot scale below the
// count it found for a whole scale-down window (5 minutes by default, legacy
// path included), nor above it for a whole scale-up window if one is set.
func (s *State) seed(now time.Time, current int32) {
	if len(s.Recommendations) == 0 {
		s.Recommendations = append(s.Recommendations, Recommendation{Replicas: current, Time: now})
	}
}

// stabilizeLegacy is the no-behavior window: the highest recommendation not
// older than the window, desired included. A recommendation exactly at the
// cutoff still counts here (upstream tests !Before), unlike the behavior path.
func (s *State) stabilizeLegacy(now time.Time, desired int32, window time.Duration) int32 {
	cutoff := now.Add(-window)
	highest, old := desired, -1
	for i, r := range s.Recommendations {
		if r.Time.Before(cutoff) {
			old = i
		} else if r.Replicas > highest {
			highest = r.Replicas
		}
	}
	s.record(old, Recommendation{Replicas: desired, Time: now})
	return highest
}

// stabilize is the behavior window. Recommendations newer than the scale-up
// window bound the result from above by their minimum, those newer than the
// scale-down window bound it from below by their maximum, and the current
// count is moved only as far as those bounds force it:
//
//	result = clamp(current, min(desired, ups...), max(desired, downs...))
//
// so the count rises only to the lowest recent recommendation and falls only
// to the highest. Only a slot older than both windows is reused.
func (s *State) stabilize(now time.Time, desired, current int32, upWindow, downWindow int32) int32 {
	upCutoff := now.Add(-seconds(upWindow))
	downCutoff := now.Add(-seconds(downWindow))
	up, down, old := desired, desired, -1
	for i, r := range s.Recommendations {
		if r.Time.After(upCutoff) {
			up = min(up, r.Replicas)
		}
		if r.Time.After(downCutoff) {
			down = max(down, r.Replicas)
		}
		if r.Time.Before(upCutoff) && r.Time.Before(downCutoff) {
			old = i
		}
	}
	s.record(old, Recommendation{Replicas: desired, Time: now})
	// Order matters when up > down, which the windows cannot produce
	// (both bounds include desired) but is kept as upstream writes it.
	result := current
	if result < up {
		result = up
	}
	if result > down {
		result = down
	}
	return result
}

// record overwrites slot old (the last expired one found), or appends.
// Upstream reuses one slot per sync, so the history stays near one window's
// worth of syncs.
func (s *State) record(old int, r Recommendation) {
	if old >= 0 {
		s.Recommendations[old] = r
		return
	}
	s.Recommendations = append(s.Recommendations, r)
}

// storeEvent records a rescale from prev to next under behavior b (already
// defaulted): events older than the direction's longest policy period are
// marked outdated and the last outdated slot is reused.
func (s *State) storeEvent(now time.Time, b Behavior, prev, next int32) {
	if next > prev {
		s.ScaleUpEvents = storeEvent(s.ScaleUpEvents, now, longestPeriod(b.ScaleUp), next-prev)
	} else {
		s.ScaleDownEvents = storeEvent(s.ScaleDownEvents, now, longestPeriod(b.ScaleDown), prev-next)
	}
}

func storeEvent(events []ScaleEvent, now time.Time, longest, change int32) []ScaleEvent {
	cutoff := now.Add(-seconds(longest))
	old := -1
	for i := range events {
		if events[i].Time.Before(cutoff) {
			events[i].Outdated = true
		}
		if events[i].Outdated {
			old = i
		}
	}
	e := ScaleEvent{Change: change, Time: now}
	if old >= 0 {
		events[old] = e
		return events
	}
	return append(events, e)
}

// longestPeriod reads defaulted rules, which are never nil.
func longestPeriod(r *Rules) int32 {
	var longest int32
	for _, p := range r.Policies {
		longest = max(longest, p.PeriodSeconds)
	}
	return longest
}

// changedWithin sums the events strictly newer than now - period. The sum is
// int32 and wraps as upstream's does; it takes billions of replicas.
func changedWithin(events []ScaleEvent, now time.Time, periodSeconds int32) int32 {
	cutoff := now.Add(-seconds(periodSeconds))
	var n int32
	for _, e := range events {
		if e.Time.After(cutoff) {
			n += e.Change
		}
	}
	return n
}

func seconds(s int32) time.Duration { return time.Duration(s) * time.Second }
