package inference

import (
	"math"
	"strings"
	"testing"
	"time"
)

// mm1 is the curve the fake fleets follow: floor l0, capacity c.
func mm1(l0, c, x float64) float64 { return l0 / (1 - x/c) }

// observeAll feeds pairs capSpacing apart from t0 and returns the time
// after the last one.
func observeAll(c *capacity, pairs ...[2]float64) time.Time {
	now := t0
	for _, p := range pairs {
		c.Observe(now, p[0], p[1])
		now = now.Add(capSpacing)
	}
	return now
}

// TestCapacityFit: the fitted curve recovers the floor and the capacity
// of an M/M/1-shaped fleet from a few loads, predicts between and beyond
// them, and says why when the data cannot tell the capacity.
func TestCapacityFit(t *testing.T) {
	exact := func(xs ...float64) [][2]float64 {
		var out [][2]float64
		for _, x := range xs {
			out = append(out, [2]float64{x, mm1(0.1, 1000, x)})
		}
		return out
	}
	for _, c := range []struct {
		name       string
		pairs      [][2]float64
		ok         bool
		reason     string
		capacity   float64 // wanted within 1 %
		predictAt  float64
		prediction float64
	}{
		{name: "nothing seen", reason: "needs latencies observed at loads per replica about 20% apart"},
		{name: "one load", pairs: exact(500, 500, 510), reason: "about 20% apart (seen 50"},
		{name: "two loads too close", pairs: exact(500, 560), reason: "about 20% apart"},
		{name: "two loads", pairs: exact(400, 700), ok: true, capacity: 1000, predictAt: 800, prediction: 0.5},
		{name: "many loads, noisy", pairs: [][2]float64{{300, 0.142 * 1.02}, {450, 0.182 * 0.98}, {600, 0.25 * 1.01}, {750, 0.4 * 0.99}},
			ok: true, capacity: 1000, predictAt: 500, prediction: 0.2},
		{name: "saturated beyond capacity", pairs: exact(400, 700), ok: true, capacity: 1000, predictAt: 1200, prediction: math.Inf(1)},
		{name: "latency falls with load", pairs: [][2]float64{{300, 0.5}, {600, 0.3}}, reason: "does not rise with load"},
		{name: "flat latency", pairs: [][2]float64{{300, 0.3}, {600, 0.3}}, reason: "does not rise with load"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var m capacity
			pairs := make([][2]float64, 0, len(c.pairs))
			pairs = append(pairs, c.pairs...)
			now := observeAll(&m, pairs...)
			cv := m.Fit(now)
			if cv.ok != c.ok || !strings.Contains(cv.reason, c.reason) {
				t.Fatalf("Fit: ok=%v reason %q; want ok=%v reason containing %q", cv.ok, cv.reason, c.ok, c.reason)
			}
			if !c.ok {
				if !math.IsNaN(cv.Predict(100)) {
					t.Errorf("an unlearned curve predicts %v; want NaN (unknown), never a number", cv.Predict(100))
				}
				return
			}
			if math.Abs(cv.Capacity()/c.capacity-1) > 0.01 {
				t.Errorf("capacity %v; want %v", cv.Capacity(), c.capacity)
			}
			got := cv.Predict(c.predictAt)
			if math.IsInf(c.prediction, 1) != math.IsInf(got, 1) || (!math.IsInf(got, 1) && math.Abs(got/c.prediction-1) > 0.03) {
				t.Errorf("Predict(%v) = %v; want %v", c.predictAt, got, c.prediction)
			}
		})
	}
}

// TestCapacityRateAt: the load per replica at a goal inverts Predict; a
// goal under the no-load floor is unreachable (0); the model never claims
// more than capExtrapolate × the highest load it has seen.
func TestCapacityRateAt(t *testing.T) {
	var m capacity
	now := observeAll(&m, [2]float64{200, mm1(0.1, 1000, 200)}, [2]float64{300, mm1(0.1, 1000, 300)})
	cv := m.Fit(now)
	for _, c := range []struct {
		name    string
		latency float64
		want    float64
	}{
		{"at the goal", 0.2, 500},
		{"below the floor", 0.05, 0},
		{"at the floor", 0.1, 0},
		{"beyond what was seen: bounded", 0.5, capExtrapolate * 300},
	} {
		if got := cv.RateAt(c.latency); math.Abs(got-c.want) > 1e-6*max(1, c.want) {
			t.Errorf("%s: RateAt(%v) = %v; want %v", c.name, c.latency, got, c.want)
		}
	}
	if got := cv.Usable(); math.Abs(got-capExtrapolate*300) > 1e-6 {
		t.Errorf("Usable() = %v; want the capacity (1000) bounded by %v × 300", got, capExtrapolate)
	}
	if got := cv.Predict(cv.RateAt(0.2)); math.Abs(got-0.2) > 1e-9 {
		t.Errorf("Predict(RateAt(0.2)) = %v", got)
	}
}

// TestCapacityObserve: pairs closer than capSpacing, or not positive and
// finite, are not taken; a steady load refreshes one bin (the other loads
// stay for the slope) and bins are forgotten after capForget; at most
// capMaxBins are kept.
func TestCapacityObserve(t *testing.T) {
	var m capacity
	for _, c := range []struct {
		name    string
		at      time.Duration
		x, l    float64
		taken   bool
		binsNow int
	}{
		{"first", 0, 400, 0.17, true, 1},
		{"too soon", capSpacing - time.Millisecond, 700, 0.33, false, 1},
		{"spaced", capSpacing, 700, 0.33, true, 2},
		{"zero load", 2 * capSpacing, 0, 0.1, false, 2},
		{"NaN latency", 2 * capSpacing, 400, math.NaN(), false, 2},
		{"infinite latency", 2 * capSpacing, 400, math.Inf(1), false, 2},
		{"same bin", 2 * capSpacing, 402, 0.17, true, 2},
		{"after the others are forgotten", 2*capSpacing + capForget, 900, 1, true, 1},
	} {
		if got := m.Observe(t0.Add(c.at), c.x, c.l); got != c.taken || len(m.bins) != c.binsNow {
			t.Errorf("%s: taken %v with %d bins; want %v with %d", c.name, got, len(m.bins), c.taken, c.binsNow)
		}
	}
	m = capacity{}
	now := t0
	for i := range 3 * capMaxBins {
		m.Observe(now, 100*math.Pow(capBinRatio, float64(i)), 0.2)
		now = now.Add(capSpacing)
	}
	if len(m.bins) != capMaxBins {
		t.Errorf("%d bins; want at most %d", len(m.bins), capMaxBins)
	}
	// A steady hour at one load keeps the slope learned from before it,
	// as long as capForget has not passed.
	m = capacity{}
	now = observeAll(&m, [2]float64{400, mm1(0.1, 1000, 400)}, [2]float64{700, mm1(0.1, 1000, 700)})
	for range 300 {
		m.Observe(now, 700, mm1(0.1, 1000, 700))
		now = now.Add(capSpacing)
	}
	if cv := m.Fit(now); !cv.ok || math.Abs(cv.Capacity()-1000) > 10 {
		t.Errorf("after 25 min at one load: %+v; want the capacity still known (1000)", cv)
	}
	if cv := m.Fit(now.Add(capForget)); cv.ok {
		t.Errorf("after capForget more without data: still learned %+v", cv)
	}
}
