package inference

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// capacity learns, online, how one latency percentile grows with the token
// load per replica (prompt tokens/s for TTFT, generation tokens/s for
// TPOT), and predicts it at another load. No calibration: it learns from
// the pairs (load per replica, observed percentile) the trigger sees.
//
// The curve is the M/M/1 sojourn time's: every percentile of it is
// L0 / (1 − x/C), a floor L0 at no load that diverges as the load per
// replica x nears the capacity C. Its inverse is a straight line,
// 1/L = a − b·x with a = 1/L0 and b = 1/(L0·C), so the fit is a least
// squares line through the points (x, 1/L): two parameters, both with a
// meaning an operator can check (the no-load latency and the tokens/s at
// which a replica saturates).
//
// Observations are kept in bins of load per replica (each capBinRatio
// wide, an exponential moving average of x and of 1/L per bin, forgotten
// after capForget): a long steady period refreshes one bin instead of
// drowning the loads seen before, which the slope needs. It is a plain
// value: Observe and Predict take now; nothing reads a clock.
type capacity struct {
	bins []capBin // sorted by key
	last time.Time
}

type capBin struct {
	key    int
	x, inv float64 // moving averages of load per replica and 1/latency
	n      int
	at     time.Time
}

const (
	capBinRatio = 1.1              // bins are 10 % wide in load per replica
	capAlpha    = 0.3              // weight of a new observation in its bin
	capMaxBins  = 32               // the oldest bin goes first
	capForget   = 30 * time.Minute // a bin not refreshed for this long is dropped
	capSpacing  = 5 * time.Second  // observations closer together are ignored
	// capMinSpan is how many bins apart the lowest and the highest load
	// seen must be (their loads at least 10 %, typically 20 %, apart). It
	// counts bins, not their averages, so a learned curve stays learned
	// while new pairs move a bin's average.
	capMinSpan   = 2
	capMaxWeight = 8 // a bin's weight in the fit: its count, up to this
	// capExtrapolate bounds what the model claims beyond the data: it never
	// puts more than this times the highest load per replica it has seen
	// on one replica.
	capExtrapolate = 2.0
)

// Observe adds one pair: load per replica x (tokens/s) and the latency
// percentile L (seconds) observed at it. It reports whether the pair was
// taken: x and L must be positive and finite, and at least capSpacing
// after the previous pair taken.
func (c *capacity) Observe(now time.Time, x, latency float64) bool {
	if !(x > 0) || !(latency > 0) || math.IsInf(x, 0) || math.IsInf(latency, 0) {
		return false
	}
	if !c.last.IsZero() && now.Sub(c.last) < capSpacing {
		return false
	}
	c.last = now
	c.bins = slices.DeleteFunc(c.bins, func(b capBin) bool { return now.Sub(b.at) >= capForget })
	key := int(math.Floor(math.Log(x) / math.Log(capBinRatio)))
	i, found := slices.BinarySearchFunc(c.bins, key, func(b capBin, k int) int { return b.key - k })
	if found {
		b := &c.bins[i]
		b.x += capAlpha * (x - b.x)
		b.inv += capAlpha * (1/latency - b.inv)
		b.n++
		b.at = now
		return true
	}
	c.bins = slices.Insert(c.bins, i, capBin{key: key, x: x, inv: 1 / latency, n: 1, at: now})
	if len(c.bins) > capMaxBins {
		oldest := 0
		for j, b := range c.bins {
			if b.at.Before(c.bins[oldest].at) {
				oldest = j
			}
		}
		c.bins = slices.Delete(c.bins, oldest, oldest+1)
	}
	return true
}

// curve is a fitted 1/L = a − b·x; ok is false with the reason when the
// data cannot tell the capacity.
type curve struct {
	a, b   float64
	lo, hi float64 // the loads per replica seen
	bins   int
	ok     bool
	reason string
}

// Fit is the curve through the bins still remembered at now.
func (c *capacity) Fit(now time.Time) curve {
	var sw, sx, sy, sxx, sxy float64
	cv := curve{lo: math.Inf(1)}
	loKey, hiKey := math.MaxInt, math.MinInt
	for _, b := range c.bins {
		if now.Sub(b.at) >= capForget {
			continue
		}
		w := float64(min(b.n, capMaxWeight))
		sw += w
		sx += w * b.x
		sy += w * b.inv
		sxx += w * b.x * b.x
		sxy += w * b.x * b.inv
		cv.lo, cv.hi = min(cv.lo, b.x), max(cv.hi, b.x)
		loKey, hiKey = min(loKey, b.key), max(hiKey, b.key)
		cv.bins++
	}
	if cv.bins < 2 || hiKey-loKey < capMinSpan {
		cv.reason = "needs latencies observed at loads per replica about 20% apart"
		if cv.bins > 0 {
			cv.reason += fmt.Sprintf(" (seen %.4g to %.4g tokens/s per replica)", cv.lo, cv.hi)
		} else {
			cv.lo = 0
		}
		return cv
	}
	den := sw*sxx - sx*sx
	cv.b = -(sw*sxy - sx*sy) / den
	cv.a = (sy + cv.b*sx) / sw
	if !(cv.b > 0) || !(cv.a > 0) || math.IsInf(cv.a/cv.b, 0) {
		cv.reason = fmt.Sprintf("latency does not rise with load between %.4g and %.4g tokens/s per replica", cv.lo, cv.hi)
		return cv
	}
	cv.ok = true
	return cv
}

// Predict is the latency percentile the curve predicts at load per replica
// x: +Inf at or beyond the capacity, NaN when the curve is not learned.
func (cv curve) Predict(x float64) float64 {
	if !cv.ok {
		return math.NaN()
	}
	inv := cv.a - cv.b*max(x, 0)
	if inv <= 0 {
		return math.Inf(1)
	}
	return 1 / inv
}

// Capacity is the load per replica at which the latency diverges (a/b):
// the learned tokens/s one replica serves flat out.
func (cv curve) Capacity() float64 { return cv.a / cv.b }

// Usable is the tokens/s per replica the law counts on to drain a
// backlog: the capacity, at most capExtrapolate × the highest load seen.
func (cv curve) Usable() float64 { return min(cv.Capacity(), capExtrapolate*cv.hi) }

// Floor is the latency the curve predicts with no load (1/a).
func (cv curve) Floor() float64 { return 1 / cv.a }

// RateAt is the load per replica at which the predicted percentile is
// latency, at most capExtrapolate × the highest load seen; 0 when latency
// is at or below the no-load floor (no count reaches it).
func (cv curve) RateAt(latency float64) float64 {
	x := (cv.a - 1/latency) / cv.b
	if !(x > 0) {
		return 0
	}
	return min(x, capExtrapolate*cv.hi)
}
