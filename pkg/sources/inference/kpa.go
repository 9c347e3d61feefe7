package inference

import (
	"fmt"
	"math"
	"time"
)

// windowParams are Knative KPA's knobs, per trigger.
type windowParams struct {
	stable         time.Duration // stable window (60 s)
	panic          time.Duration // panic window: stable × panicWindowPercentage (6 s)
	panicThreshold float64       // ratio, 2.0 for 200 %
	maxUpRate      float64       // 1000
	maxDownRate    float64       // 2
	scaleDownDelay time.Duration // 0
	zeroGrace      time.Duration // scaleToZeroGracePeriod (30 s)
}

// load is one signal's demand over both windows, as a total over the fleet
// (requests/s, waiting requests, ...), and its per-replica target.
type load struct {
	name          string
	stable, panic float64
	target        float64
}

// kpaInput is what one decision sees.
type kpaInput struct {
	ready int // pods that count as capacity: ready, scraped
	loads []load
	// holdDown forbids scaling down: part of the fleet could not be read,
	// so the demand seen is a lower bound.
	holdDown bool
}

// kpaState is what a decision carries to the next one. It is derived only
// from the data the decisions saw, so every scaler replica that sees the
// same pods reaches the same state.
type kpaState struct {
	started   bool
	panicking bool
	lastOver  time.Time // last decision whose panic load crossed the threshold
	maxPanic  int       // desired never decreases while panicking
	last      int       // the previous decision
	delayed   []delayed // recent decisions, for scaleDownDelay
}

type delayed struct {
	at      time.Time
	desired int
}

// decision is the outcome of one KPA step.
type decision struct {
	desired   int
	panicking bool
	rule      string // what set desired, for Measurement.Reason
}

// decide is Knative's KPA decision, written for several signals at once:
// each signal proposes ceil(load / target) replicas over the stable and the
// panic window, and the largest proposal of each window wins. It is pure
// but for st, which it advances.
//
//   - rp = max(1, ready); scale-up is capped at ceil(maxUpRate × rp) and
//     scale-down at floor(rp / maxDownRate);
//   - the panic window's proposal / rp >= panicThreshold enters (or
//     extends) panic; panic ends only after a full stable window below the
//     threshold, and while panicking desired never decreases;
//   - a fresh state that sees more than one ready pod starts in panic, so a
//     restarted scaler never scales down before it has a window of data;
//   - anti-flap: a step down from ready to M needs every signal's recent
//     load (the larger window average) to fit M replicas at target;
//   - holdDown keeps the previous decision as a floor;
//   - scaleDownDelay: desired is the largest decision within the delay.
func decide(now time.Time, p windowParams, st *kpaState, in kpaInput) decision {
	rp := float64(max(1, in.ready))
	maxUp := int(math.Ceil(p.maxUpRate * rp))
	maxDown := int(math.Floor(rp / p.maxDownRate))
	wantStable, wantPanic := 0, 0
	for _, l := range in.loads {
		wantStable = max(wantStable, replicasFor(l.stable, l.target))
		wantPanic = max(wantPanic, replicasFor(l.panic, l.target))
	}
	if !st.started {
		st.started = true
		if in.ready > 1 {
			st.panicking, st.lastOver, st.maxPanic = true, now, in.ready
		}
	}
	over := float64(wantPanic)/rp >= p.panicThreshold
	switch {
	case over:
		st.panicking, st.lastOver = true, now
	case st.panicking && now.Sub(st.lastOver) >= p.stable:
		st.panicking, st.maxPanic = false, 0
	}
	d := decision{desired: clamp(wantStable, maxDown, maxUp), rule: "stable window"}
	if wantStable > maxUp || wantStable < maxDown {
		d.rule = fmt.Sprintf("stable window, rate-limited to [%d, %d]", maxDown, maxUp)
	}
	if st.panicking {
		d.panicking = true
		if want := max(d.desired, clamp(wantPanic, maxDown, maxUp), st.maxPanic); want > d.desired {
			d.desired, d.rule = want, "panic: never scale down"
		} else {
			d.rule = "panic (stable window)"
		}
		st.maxPanic = d.desired
	}
	if d.desired < in.ready {
		for _, l := range in.loads {
			if need := min(replicasFor(max(l.stable, l.panic), l.target), in.ready); need > d.desired {
				d.desired = need
				d.rule = fmt.Sprintf("anti-flap: %s %.4g would not fit fewer replicas", l.name, max(l.stable, l.panic))
			}
		}
	}
	if in.holdDown && st.last > d.desired {
		d.desired, d.rule = st.last, "scale-down held: some targets could not be read"
	}
	d = applyDelay(now, p.scaleDownDelay, st, d)
	st.last = d.desired
	return d
}

// applyDelay makes desired the largest decision of the last delay.
func applyDelay(now time.Time, delay time.Duration, st *kpaState, d decision) decision {
	if delay <= 0 {
		st.delayed = st.delayed[:0]
		return d
	}
	kept := st.delayed[:0]
	for _, e := range st.delayed {
		if now.Sub(e.at) < delay {
			kept = append(kept, e)
		}
	}
	st.delayed = append(kept, delayed{now, d.desired})
	for _, e := range st.delayed {
		if e.desired > d.desired {
			d.desired, d.rule = e.desired, fmt.Sprintf("scale-down delay %s", delay)
		}
	}
	return d
}

// replicasFor is ceil(total / target), the replicas that hold total at
// target each. A tiny epsilon keeps float noise (30.000000000000004 / 10)
// from asking for one replica more.
func replicasFor(total, target float64) int {
	if total <= 0 || target <= 0 {
		return 0
	}
	r := math.Ceil(total/target - 1e-9)
	if r > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(r)
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
