package inference

import (
	"math"
	"time"
)

// queueSample is the work waiting in the queue at one decision, per goal:
// prompt tokens (TTFT) and the generation tokens the waiting requests
// will ask for (TPOT); NaN when unknown.
type queueSample struct {
	at     time.Time
	queued [numGoals]float64
}

// queueHistory keeps the queue samples of the last stable window.
type queueHistory []queueSample

// add records now's queue and drops the samples older than keep.
func (h queueHistory) add(now time.Time, queued [numGoals]float64, keep time.Duration) queueHistory {
	i := 0
	for i < len(h) && now.Sub(h[i].at) > keep {
		i++
	}
	return append(h[i:], queueSample{at: now, queued: queued})
}

// growth is how much goal g's queue grew over the last window (the
// oldest sample within it to the newest): 0 when unknown or with no
// older sample in the window.
func (h queueHistory) growth(now time.Time, window time.Duration, g int) float64 {
	if len(h) == 0 {
		return 0
	}
	last := h[len(h)-1].queued[g]
	for _, s := range h {
		if now.Sub(s.at) <= window {
			if d := last - s.queued[g]; !math.IsNaN(d) {
				return d
			}
			return 0
		}
	}
	return 0
}

// demand corrects the windows' served token rates to the rates the
// requests arrived at: served + the queue's growth over the window ÷ the
// window (flow conservation). While a queue builds the served rate is
// below the demand (it is capped by the fleet); while it drains, above
// it (the backlog already counted once as queued is served again as
// load): uncorrected, the stable window would hold the drain's pods for
// a full window after the queue is empty.
func demand(served float64, h queueHistory, now time.Time, window time.Duration, g int) float64 {
	return max(0, served+h.growth(now, window, g)/window.Seconds())
}
