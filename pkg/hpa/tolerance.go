package hpa

// Tolerances is the band around a usage ratio of 1.0 inside which the HPA
// keeps the current replica count.
//
// Since KEP-4951 (alpha 1.33, beta and on by default 1.35) the two directions
// can differ, set by behavior.scaleDown.tolerance and behavior.scaleUp.tolerance;
// a direction left unset falls back to the controller's
// --horizontal-pod-autoscaler-tolerance flag (0.1 by default).
type Tolerances struct {
	// ScaleDown is how far below 1.0 the ratio may fall before scaling down.
	ScaleDown float64
	// ScaleUp is how far above 1.0 the ratio may rise before scaling up.
	ScaleUp float64
}

// DefaultTolerances is the controller default: 10% each way.
var DefaultTolerances = Tolerances{ScaleDown: 0.1, ScaleUp: 0.1}

// IsWithin reports whether ratio is close enough to 1.0 that the HPA does not
// scale: (1-ScaleDown) <= ratio <= (1+ScaleUp).
//
// Both bounds are inclusive, so a ratio of exactly 1.1 does not scale under
// the defaults. The bounds are computed as 1.0-ScaleDown and 1.0+ScaleUp in
// float64, exactly as upstream, because that rounding decides the edge: under
// the defaults 11.0/10.0 and 1.0+0.1 are the same float64, so 11 units of work
// against a target of 1 per replica leave 10 replicas at 10.
//
// NaN is never within (every comparison with NaN is false); the AverageValue
// path relies on that to scale 0 replicas with 0 usage to 0 rather than stay.
func (t Tolerances) IsWithin(ratio float64) bool {
	return (1.0-t.ScaleDown) <= ratio && ratio <= (1.0+t.ScaleUp)
}
