package kube

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// Warning codes. They are stable: callers use them as metric label values
// and in alerts, so a code is never renamed, only added.
const (
	// MaxAbovePartitions: the HPA may scale past the partition count, and
	// the replicas beyond it get no partition and idle.
	MaxAbovePartitions = "MaxAbovePartitions"
	// ReplicasModeTolerance: in replicas mode the HPA's scale-up tolerance
	// is not 0, so small replica changes are ignored.
	ReplicasModeTolerance = "ReplicasModeTolerance"
	// ReplicasModeTarget: in replicas mode the trigger's HPA target is not
	// AverageValue 1, so the HPA does not land on the count sent.
	ReplicasModeTarget = "ReplicasModeTarget"
	// CooldownBelowPoll: the ScaledObject's cooldownPeriod is shorter than
	// the poll interval, so one inactive poll scales to zero.
	CooldownBelowPoll = "CooldownBelowPoll"
)

// Facts are what the scaler knows about one trigger that the HPA does not.
type Facts struct {
	// ReplicasMode: the trigger sends a replica count with target 1
	// (metricMode: replicas) rather than the demand.
	ReplicasMode bool
	// Partitions is the number of partitions the consumers share; 0 when
	// unknown or not partitioned.
	Partitions int
	// PollInterval is how often the scaler samples its source; 0 when it
	// does not poll.
	PollInterval time.Duration
	// MetricName is the HPA metric name of the trigger ("s0-..."), to find
	// its target; "" skips the target check.
	MetricName string
}

// Warning is one way the HPA or ScaledObject defeats what the scaler sends.
type Warning struct {
	// Code is one of the constants above.
	Code string
	// Message says what goes wrong and how to fix it, naming the HPA.
	Message string
}

// Check returns the warnings that apply to s given f, in the order of the
// codes above. It is pure: the caller decides how often to log them.
func Check(s Snapshot, f Facts) []Warning {
	var out []Warning
	add := func(code, format string, args ...any) {
		out = append(out, Warning{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	name := s.HPAName
	if f.Partitions > 0 && int64(s.HPA.MaxReplicas) > int64(f.Partitions) {
		add(MaxAbovePartitions, "HPA %s has maxReplicas %d but the source has %d partitions: replicas beyond %d get no partition and idle; set the ScaledObject's maxReplicaCount to %d",
			name, s.HPA.MaxReplicas, f.Partitions, f.Partitions, f.Partitions)
	}
	if f.ReplicasMode {
		if msg := toleranceProblem(s); msg != "" {
			add(ReplicasModeTolerance, "HPA %s: %s", name, msg)
		}
		if msg := targetProblem(s, f.MetricName); msg != "" {
			add(ReplicasModeTarget, "HPA %s: %s", name, msg)
		}
	}
	if msg := cooldownProblem(s, f.PollInterval); msg != "" {
		add(CooldownBelowPoll, "%s", msg)
	}
	return out
}

// toleranceFix is how to get a scale-up tolerance of 0 into the HPA.
const toleranceFix = "set spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance: 0 in the ScaledObject " +
	"(Kubernetes >= 1.33 with the HPAConfigurableTolerance feature gate, on by default since 1.35)"

// toleranceProblem explains a scale-up tolerance that is not 0. The flag's
// value is not visible from the API, so an unset tolerance is described
// with the default flag (0.1). A tolerance read back from the API server is
// one its gate let through (it drops the field while the gate is off), so
// one set to 0 is taken as applied; the controller's gate is assumed to
// match the API server's.
func toleranceProblem(s Snapshot) string {
	var set *float64
	if b := s.HPA.Behavior; b != nil && b.ScaleUp != nil {
		set = b.ScaleUp.Tolerance
	}
	if set != nil && *set == 0 {
		return ""
	}
	t, source := hpa.DefaultConfig().Tolerance, "the controller's --horizontal-pod-autoscaler-tolerance (default 0.1)"
	if set != nil {
		t, source = *set, "behavior.scaleUp.tolerance "+strconv.FormatFloat(*set, 'g', -1, 64)
	}
	msg := fmt.Sprintf("replicas mode sends the replica count with target 1, but the HPA scales up only beyond %s", source)
	if n := smallestIgnoredStep(t); n > 0 {
		msg += fmt.Sprintf(": from %d replicas on, one more replica (%d -> %d) is inside the band and ignored", n, n, n+1)
	}
	msg += "; " + toleranceFix
	if so := s.ScaledObject; set == nil && so != nil && so.ScaleUpTolerance != nil {
		msg += fmt.Sprintf(". The ScaledObject sets scaleUp.tolerance %s but the HPA has none: the API server drops the field while its HPAConfigurableTolerance gate is off (the default on 1.33 and 1.34), and a KEDA built against k8s.io/api older than v0.33 drops it too",
			strconv.FormatFloat(*so.ScaleUpTolerance, 'g', -1, 64))
	}
	return msg
}

// smallestIgnoredStep is the smallest count n at which n -> n+1 is inside a
// scale-up tolerance t, by the controller's own comparison (so 0.1 gives 10:
// 11.0/10.0 equals 1.0+0.1 in float64). 0 when there is none worth saying.
func smallestIgnoredStep(t float64) int64 {
	if !(t > 0) || 1/t > math.MaxInt32 {
		return 0
	}
	tol := hpa.Tolerances{ScaleUp: t, ScaleDown: 1}
	guess := int64(math.Ceil(1 / t))
	for n := max(guess-2, 1); n <= guess+2; n++ {
		if tol.IsWithin(float64(n+1) / float64(n)) {
			return n
		}
	}
	return guess
}

// targetProblem explains a replicas-mode target other than AverageValue 1.
// A Value target is wrong whatever its number: the Value path multiplies
// value/target by the ready pods, so it cannot land on a count.
func targetProblem(s Snapshot, metric string) string {
	if metric == "" {
		return ""
	}
	for _, m := range s.Metrics {
		if m.Name != metric || !m.Modelled() {
			continue
		}
		switch {
		case m.Target.Type == hpa.AverageValue && m.Target.Milli == 1000:
			return ""
		case m.Target.Type == hpa.Value:
			return fmt.Sprintf("metric %s has a Value target: the HPA multiplies value/target by the ready pods (a count of 11 at 10 pods asks for 110), so replicas mode needs the default metricType AverageValue with target 1", metric)
		}
		return fmt.Sprintf("metric %s has target %s %sm, not AverageValue 1: the HPA divides the count sent by it. The scaler asks for 1 in replicas mode; KEDA rebuilds the HPA's targets when it reconciles the ScaledObject, so touch the ScaledObject if the mode changed",
			metric, m.Target.Type, strconv.FormatInt(m.Target.Milli, 10))
	}
	return ""
}

// cooldownProblem explains a cooldown shorter than the longer of the
// scaler's poll and KEDA's pollingInterval: KEDA scales to zero once no
// active report came for cooldownPeriod, so with polls further apart a
// single inactive one is enough and the cooldown confirms nothing. The
// cooldown only governs scaling to zero, so a minReplicaCount above 0
// makes it moot.
func cooldownProblem(s Snapshot, scalerPoll time.Duration) string {
	so := s.ScaledObject
	if so == nil || (so.Min != nil && *so.Min > 0) {
		return ""
	}
	poll, what := scalerPoll, "the scaler's poll interval"
	if so.PollingInterval > poll {
		poll, what = so.PollingInterval, "its pollingInterval"
	}
	if so.CooldownPeriod >= poll {
		return ""
	}
	return fmt.Sprintf("ScaledObject of HPA %s has cooldownPeriod %s, shorter than %s %s: a single inactive poll scales the workload to zero; set cooldownPeriod to at least %s (a few polls is safer)",
		s.HPAName, so.CooldownPeriod, what, poll, poll)
}
