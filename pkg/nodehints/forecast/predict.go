package forecast

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Prediction parameters.
const (
	// DefaultLeadTime is how far ahead Predict looks when given no lead
	// time: about what a new node takes to join and become Ready (3-4 min
	// on GCE, more for GPU nodes), so that capacity asked for now is there
	// when the demand is.
	DefaultLeadTime = 3 * time.Minute
	// Window is how much history the trend is fitted over. Five minutes
	// covers about ten of KEDA's 30 s polls, enough for a least-squares
	// slope to see through one noisy sample, and short enough to follow a
	// burst that starts within a node's lead time.
	Window = 5 * time.Minute
	// MinSpan is the least time the points in the window must span: a
	// slope over a few seconds is mostly noise, and projected minutes
	// ahead it would ask for nodes on a blip.
	MinSpan = 30 * time.Second
)

// tolerance absorbs float noise before rounding up: 4.0000000001 replicas
// of demand (a regression's rounding error) is 4, not 5.
const tolerance = 1e-6

// Point is one demand sample: how many replicas the demand needed at Time
// (e.g. lag / lagThreshold), before the HPA's rounding.
type Point struct {
	Time   time.Time
	Demand float64
}

// Predict returns the replicas the demand will need leadTime from now
// (DefaultLeadTime when leadTime <= 0), and why.
//
// It fits a least-squares line to the points of the last Window and
// projects the latest demand along its slope to now+leadTime. Anchoring
// at the latest point, not at the line's own value, keeps the prediction
// on the freshest sample when the ramp is curved. A falling or flat trend
// predicts the latest demand: headroom is for growth, and shrinking is the
// HPA's and the node autoscaler's own business. The result is never below
// the latest demand (rounded up), never above maxReplicas (0 when
// maxReplicas < 1), and falls back to the latest demand when there is no
// trend to fit: fewer than two points in the window, points spanning less
// than MinSpan, or a latest point older than the window. Points in the
// future, with a negative, NaN or infinite demand are ignored; the history
// need not be sorted.
func Predict(history []Point, now time.Time, leadTime time.Duration, maxReplicas int32) (int32, string) {
	if maxReplicas < 1 {
		return 0, fmt.Sprintf("maxReplicas %d < 1 → 0", maxReplicas)
	}
	if leadTime <= 0 {
		leadTime = DefaultLeadTime
	}
	pts := make([]Point, 0, len(history))
	for _, p := range history {
		if !p.Time.After(now) && p.Demand >= 0 && !math.IsInf(p.Demand, 0) && !math.IsNaN(p.Demand) {
			pts = append(pts, p)
		}
	}
	if len(pts) == 0 {
		return 0, "no demand history → 0"
	}
	slices.SortStableFunc(pts, func(a, b Point) int { return a.Time.Compare(b.Time) })
	last := pts[len(pts)-1]
	floor := replicas(last.Demand, maxReplicas)
	result := func(r int32, why string) (int32, string) {
		if r >= maxReplicas {
			r = maxReplicas
			why += fmt.Sprintf(" (capped at maxReplicas %d)", maxReplicas)
		}
		return r, why + fmt.Sprintf(" → %d", r)
	}
	if age := now.Sub(last.Time); age > Window {
		return result(floor, fmt.Sprintf("latest demand %.2f is %s old, older than the %s window", last.Demand, age, Window))
	}
	start := now.Add(-Window)
	i, _ := slices.BinarySearchFunc(pts, start, func(p Point, t time.Time) int { return p.Time.Compare(t) })
	win := pts[i:]
	if len(win) < 2 {
		return result(floor, fmt.Sprintf("demand %.2f, %d point in the last %s", last.Demand, len(win), Window))
	}
	span := last.Time.Sub(win[0].Time)
	if span < MinSpan {
		return result(floor, fmt.Sprintf("demand %.2f, points span %s < %s", last.Demand, span, MinSpan))
	}
	slope := leastSquaresSlope(win, last.Time)
	trend := fmt.Sprintf("%+.4g/s over %s, %d points", slope, span, len(win))
	if math.IsNaN(slope) || slope <= 0 {
		return result(floor, fmt.Sprintf("demand %.2f, not rising (%s)", last.Demand, trend))
	}
	ahead := now.Add(leadTime).Sub(last.Time)
	pred := last.Demand + slope*ahead.Seconds()
	return result(max(floor, replicas(pred, maxReplicas)),
		fmt.Sprintf("demand %.2f rising (%s): %.2f in %s", last.Demand, trend, pred, leadTime))
}

// leastSquaresSlope is the slope, in demand per second, of the line that
// best fits pts. Times are taken relative to origin, so that the sums stay
// small and exact enough whatever the wall clock says.
func leastSquaresSlope(pts []Point, origin time.Time) float64 {
	n := float64(len(pts))
	var mx, my float64
	for _, p := range pts {
		mx += p.Time.Sub(origin).Seconds()
		my += p.Demand
	}
	mx, my = mx/n, my/n
	var sxy, sxx float64
	for _, p := range pts {
		dx := p.Time.Sub(origin).Seconds() - mx
		sxy += dx * (p.Demand - my)
		sxx += dx * dx
	}
	if sxx == 0 {
		return math.NaN()
	}
	return sxy / sxx
}

// replicas rounds demand up to whole replicas within [0, maxReplicas]; the
// cap is applied first, so any float (even +Inf) converts safely.
func replicas(demand float64, maxReplicas int32) int32 {
	if math.IsNaN(demand) || demand <= 0 {
		return 0
	}
	if demand >= float64(maxReplicas) {
		return maxReplicas
	}
	return int32(math.Ceil(demand - tolerance))
}

// Trim drops the points of a time-ordered history that Predict no longer
// reads (older than Window before now), so a caller appending one point
// per poll keeps a bounded history.
func Trim(history []Point, now time.Time) []Point {
	start := now.Add(-Window)
	i := 0
	for i < len(history) && history[i].Time.Before(start) {
		i++
	}
	return history[i:]
}

// Headroom is the replicas to hold in reserve for a target: predicted less
// current, never negative (a negative current counts as 0, which also
// keeps the subtraction from overflowing).
func Headroom(predicted, current int32) int32 {
	return max(predicted-max(current, 0), 0)
}
