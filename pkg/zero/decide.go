package zero

import (
	"fmt"
	"time"
)

// DefaultCooldown is KEDA's default cooldownPeriod, so that moving a
// workload from KEDA to Tide keeps its time to zero.
const DefaultCooldown = 300 * time.Second

// State is what Decide remembers about one target between calls.
type State struct {
	// LastActive is when the trigger was last seen active, or when the
	// target was first seen at all: a process that starts (or takes over
	// leadership) without history must not take an idle workload to zero
	// at once, since it cannot know that the previous leader saw it idle
	// for a whole cooldown. Zero means never observed.
	LastActive time.Time
}

// Decide says how many replicas a target with minReplicas 0 should have,
// given whether its trigger is active now and its current spec.replicas.
// It is pure: the caller passes the clock and keeps the State.
//
// It only ever moves 0 -> 1 (active) and 1 -> 0 (inactive for cooldown
// since LastActive). Every other count is returned unchanged, because the
// HPA owns 1..N: it keeps minReplicas >= 1, and Kubernetes pauses it while
// spec.replicas is 0, so neither controller overrides the other.
//
// The cooldown runs from the last activity whatever the replica count, so
// a workload that the HPA brings down to 1 long after the work ended goes
// to zero on the next call, instead of waiting for the HPA's scale-down
// window and then a full cooldown one after the other (llm-d/llm-d#2492).
//
// The reason says why, for logs and the Event message.
func Decide(now time.Time, st State, active bool, current int32, cooldown time.Duration) (int32, State, string) {
	cooldown = max(cooldown, 0)
	if current < 0 {
		return current, st, fmt.Sprintf("replicas %d is invalid: left alone", current)
	}
	if active {
		st.LastActive = now
		if current == 0 {
			return 1, st, "active at 0 replicas"
		}
		return current, st, fmt.Sprintf("active at %d replicas: the HPA owns the count", current)
	}
	if st.LastActive.IsZero() {
		st.LastActive = now
	}
	idle := now.Sub(st.LastActive)
	switch {
	case current == 0:
		return 0, st, "inactive at 0 replicas"
	case current > 1:
		return current, st, fmt.Sprintf("inactive for %s at %d replicas: the HPA owns the count", idle, current)
	case idle >= cooldown:
		return 0, st, fmt.Sprintf("inactive for %s >= cooldown %s", idle, cooldown)
	default:
		return 1, st, fmt.Sprintf("inactive for %s < cooldown %s", idle, cooldown)
	}
}
