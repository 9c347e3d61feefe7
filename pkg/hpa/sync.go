package hpa

import "time"

// Reason names the rule that decided a sync's replica count: the last stage
// of the reconcile that changed the number, or why none ran.
type Reason string

const (
	// Paused: spec.replicas is 0 and minReplicas is not, which the HPA reads
	// as "autoscaling disabled" (ScalingDisabled). Nothing is computed.
	Paused Reason = "Paused"
	// AtMax: the count was cut to maxReplicas, either because it already
	// exceeded it (no metric is read then) or because the metrics ask for more.
	AtMax Reason = "AtMax"
	// AtMin: the count was raised to minReplicas, either because it was
	// below (no metric is read then) or because the metrics ask for fewer.
	AtMin Reason = "AtMin"
	// NoMetrics: no metric produced a proposal (all failed, or none given),
	// so the HPA keeps the current count.
	NoMetrics Reason = "NoMetrics"
	// PartialData: some metrics failed and the others ask for fewer
	// replicas. The HPA never scales down on partial data.
	PartialData Reason = "PartialData"
	// ScaleUpLimited: the rate limit held a scale-up back, either the
	// legacy max(2*current, 4) per sync or the behavior's scaleUp policies.
	ScaleUpLimited Reason = "ScaleUpLimited"
	// ScaleDownLimited: the behavior's scaleDown policies held a
	// scale-down back.
	ScaleDownLimited Reason = "ScaleDownLimited"
	// StabilizationWindow: a recent recommendation overrode this sync's:
	// a higher one within the scale-down window (legacy: 5 minutes), or a
	// lower one within the scale-up window.
	StabilizationWindow Reason = "StabilizationWindow"
	// WithinTolerance: the metrics ask for the current count, because every
	// ratio is inside the tolerance band (or lands on it exactly).
	WithinTolerance Reason = "WithinTolerance"
	// Unlimited: the count moved to what the metrics ask for, unhindered.
	Unlimited Reason = "Unlimited"
)

// Proposal is one metric's contribution to a sync.
type Proposal struct {
	// Replicas is the metric's proposal; 0 when Failed.
	Replicas int32
	// Ratio is the usage ratio checked against the tolerance:
	// usage/(target*status) for AverageValue (+Inf or NaN at status 0),
	// usage/target for Value.
	Ratio float64
	// Failed means the metric did not count: a fetch error, no values, an
	// unknown target type or non-positive target (which the API server
	// rejects), or a Value metric outside tolerance with no pods to count.
	Failed bool
}

// Decision is the outcome of one sync.
type Decision struct {
	// Replicas is the spec.replicas the HPA leaves: the current count when
	// it does not rescale.
	Replicas int32
	// Reason is the rule that decided Replicas.
	Reason Reason
	// Desired is the highest successful proposal (0 if none), before
	// stabilization and limits.
	Desired int32
	// Stabilized is Desired after the stabilization window; Replicas when
	// the sync stopped earlier.
	Stabilized int32
	// Tolerances is the band the proposals were computed with.
	Tolerances Tolerances
	// Proposals holds one entry per metric, in order; nil when the sync
	// did not read metrics (Paused, or current outside [min, max]).
	Proposals []Proposal
}

// Sync is one reconcile of the HPA controller (reconcileAutoscaler) at time
// now, for an HPA whose metrics are all External. It updates st (creating
// nothing if st is nil: the sync then sees a freshly started controller) and
// never reads the clock, so a replay with an advancing now reproduces the
// controller's trajectory.
//
// Order of the reconcile, as upstream:
//  1. the first sync seeds the history with the current count;
//  2. spec 0 with minReplicas > 0 is Paused; a count above max goes to max,
//     below min to min, with no metric read and no smoothing;
//  3. every metric proposes a count; the highest wins; if none succeeded, or
//     some failed and the winner is below spec.replicas, nothing changes;
//  4. without behavior: the highest recommendation of the last
//     cfg.DownscaleStabilization, then max(2*current, 4) and [min, max];
//     with behavior (defaulted by Defaults): the scale-up and scale-down
//     windows, then the rate policies;
//  5. a rescale under a behavior is recorded for the rate policies.
//
// Sync does not validate hpa: an invalid spec gives a defined result, not
// necessarily the API server's (which would have rejected it).
func Sync(now time.Time, hpa HPA, cur Current, metrics []MetricInput, st *State, cfg Config) Decision {
	if st == nil {
		st = &State{}
	}
	current := cur.Spec
	st.seed(now, current)
	d := Decision{Tolerances: hpa.Tolerances(cfg)}

	// Out of range: rescale straight to the bound, reading no metric. The
	// event is still stored, so it counts against the next period's policies.
	toBound := func(bound int32, why Reason) Decision {
		if hpa.Behavior != nil {
			st.storeEvent(now, Defaults(hpa.Behavior, cfg), current, bound)
		}
		return d.stop(bound, why)
	}
	switch {
	case current == 0 && hpa.MinReplicas != 0:
		return d.stop(0, Paused)
	case current > hpa.MaxReplicas:
		return toBound(hpa.MaxReplicas, AtMax)
	case current < hpa.MinReplicas:
		return toBound(hpa.MinReplicas, AtMin)
	}

	failed := 0
	d.Proposals = make([]Proposal, len(metrics))
	for i, m := range metrics {
		p := propose(m, cur, d.Tolerances)
		d.Proposals[i] = p
		if p.Failed {
			failed++
			continue
		}
		d.Desired = max(d.Desired, p.Replicas)
	}
	switch {
	case failed == len(metrics):
		return d.stop(current, NoMetrics)
	case failed > 0 && d.Desired < current:
		return d.stop(current, PartialData)
	}

	var limited Reason
	if hpa.Behavior == nil {
		d.Stabilized = st.stabilizeLegacy(now, d.Desired, cfg.DownscaleStabilization)
		d.Replicas, limited = legacyLimits(current, d.Stabilized, hpa.MinReplicas, hpa.MaxReplicas)
	} else {
		b := Defaults(hpa.Behavior, cfg)
		d.Stabilized = st.stabilize(now, d.Desired, current,
			*b.ScaleUp.StabilizationWindowSeconds, *b.ScaleDown.StabilizationWindowSeconds)
		d.Replicas, limited = rateLimits(now, st, b, current, d.Stabilized, hpa.MinReplicas, hpa.MaxReplicas)
		if d.Replicas != current {
			st.storeEvent(now, b, current, d.Replicas)
		}
	}

	switch {
	case limited != "":
		d.Reason = limited
	case d.Stabilized != d.Desired:
		d.Reason = StabilizationWindow
	case d.Desired == current:
		d.Reason = WithinTolerance
	default:
		d.Reason = Unlimited
	}
	return d
}

// stop ends a sync before stabilization with the count it leaves.
func (d Decision) stop(replicas int32, why Reason) Decision {
	d.Replicas, d.Stabilized, d.Reason = replicas, replicas, why
	return d
}

// propose is one External metric's proposal (computeStatusForExternalMetric).
func propose(m MetricInput, cur Current, tol Tolerances) Proposal {
	t := m.Target.Milli
	if m.Failed || len(m.Values) == 0 || t <= 0 {
		return Proposal{Failed: true}
	}
	switch m.Target.Type {
	case AverageValue:
		usage := SumForAverageValue(m.Values)
		return Proposal{
			Replicas: AverageValueReplicas(usage, t, cur.Status, tol),
			Ratio:    float64(usage) / (float64(t) * float64(cur.Status)),
		}
	case Value:
		usage := SumForValue(m.Values)
		ratio := float64(usage) / float64(t)
		// Outside tolerance upstream lists the pods to count the ready ones,
		// and fails the metric when the selector matches none.
		if cur.Spec != 0 && !tol.IsWithin(ratio) && cur.Status <= 0 {
			return Proposal{Ratio: ratio, Failed: true}
		}
		return Proposal{Replicas: ValueReplicas(usage, t, cur.Spec, cur.Ready, tol), Ratio: ratio}
	}
	return Proposal{Failed: true}
}
