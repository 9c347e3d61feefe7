package hpa

import (
	"math"
	"time"
)

// legacyLimits is upstream's convertDesiredReplicasWithRules, the cap for an
// HPA without behavior: at most max(2*current, 4) per sync (a guard from
// kubernetes#32304 against bogus metric spikes), then [min, max]. Min wins
// over everything, which only matters for an invalid HPA.
func legacyLimits(current, desired, minR, maxR int32) (int32, Reason) {
	upLimit := toInt32(math.Max(2*float64(current), 4), math.Trunc)
	allowed, why := maxR, AtMax
	if maxR > upLimit {
		allowed, why = upLimit, ScaleUpLimited
	}
	switch {
	case desired < minR:
		return minR, AtMin
	case desired > allowed:
		return allowed, why
	}
	return desired, ""
}

// rateLimits is upstream's convertDesiredReplicasWithBehaviorRate. Moving
// from current towards desired, the count may go as far as the direction's
// policies allow and no further than max (up) or min (down):
//
//	up:   min(desired, min(max, max(limit, current)))
//	down: max(desired, max(min, min(limit, current)))
//
// A limit behind current (the period already used up, or Disabled) holds the
// count rather than reversing it.
func rateLimits(now time.Time, st *State, b Behavior, current, desired, minR, maxR int32) (int32, Reason) {
	switch {
	case desired > current:
		limit := max(scaleUpLimit(now, st, *b.ScaleUp, current), current)
		allowed, why := maxR, AtMax
		if allowed > limit {
			allowed, why = limit, ScaleUpLimited
		}
		if desired > allowed {
			return allowed, why
		}
	case desired < current:
		limit := min(scaleDownLimit(now, st, *b.ScaleDown, current), current)
		allowed, why := minR, AtMin
		if allowed < limit {
			allowed, why = limit, ScaleDownLimited
		}
		if desired < allowed {
			return allowed, why
		}
	}
	return desired, ""
}

// periodStart is the count at the start of a policy's period, reconstructed
// from the events of both directions: a policy limits the change over the
// whole period, not per sync, and a scale-down within the period gives room
// back to scale up (and the reverse).
func periodStart(now time.Time, st *State, current, period int32) int32 {
	return current - changedWithin(st.ScaleUpEvents, now, period) + changedWithin(st.ScaleDownEvents, now, period)
}

// scaleUpLimit is the highest count the scale-up policies allow now. Max
// picks the largest limit, Min the smallest; any other select policy but
// Disabled is read as Max, as upstream does.
func scaleUpLimit(now time.Time, st *State, r Rules, current int32) int32 {
	if r.SelectPolicy == SelectDisabled {
		return current
	}
	pick, result := maxInt32, int32(math.MinInt32)
	if r.SelectPolicy == SelectMin {
		pick, result = minInt32, math.MaxInt32
	}
	// Declared outside the loop as upstream does: a policy of unknown type
	// (which validation rejects) repeats the previous policy's proposal.
	var proposed int32
	for _, p := range r.Policies {
		start := periodStart(now, st, current, p.PeriodSeconds)
		switch p.Type {
		case PodsPolicy:
			proposed = start + p.Value // wraps like upstream's int32
		case PercentPolicy:
			// Rounded up so a small percentage of a small count still adds
			// a pod instead of never scaling.
			proposed = toInt32(float64(start)*(1+float64(p.Value)/100), math.Ceil)
		}
		result = pick(result, proposed)
	}
	return result
}

// scaleDownLimit is the lowest count the scale-down policies allow now. Max
// (the largest change) picks the smallest limit, Min the largest.
func scaleDownLimit(now time.Time, st *State, r Rules, current int32) int32 {
	if r.SelectPolicy == SelectDisabled {
		return current
	}
	pick, result := minInt32, int32(math.MaxInt32)
	if r.SelectPolicy == SelectMin {
		pick, result = maxInt32, math.MinInt32
	}
	var proposed int32
	for _, p := range r.Policies {
		start := periodStart(now, st, current, p.PeriodSeconds)
		switch p.Type {
		case PodsPolicy:
			proposed = start - p.Value
		case PercentPolicy:
			// Truncated, so the count never falls further than allowed.
			proposed = toInt32(float64(start)*(1-float64(p.Value)/100), math.Trunc)
		}
		result = pick(result, proposed)
	}
	return result
}

// toInt32 rounds x with round and fits it in int32. Upstream converts
// unguarded, which Go leaves implementation-defined out of range; saturating
// is what a reader of the formula expects. NaN (not reachable) gives 0.
func toInt32(x float64, round func(float64) float64) int32 {
	r := round(x)
	switch {
	case math.IsNaN(r):
		return 0
	case r >= math.MaxInt32:
		return math.MaxInt32
	case r <= math.MinInt32:
		return math.MinInt32
	}
	return int32(r)
}

func minInt32(a, b int32) int32 { return min(a, b) }
func maxInt32(a, b int32) int32 { return max(a, b) }
