package strategy

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/metadata"
)

// Mode is how a trigger's metric reaches the HPA.
type Mode string

const (
	// Raw sends the demand (total lag, queue length) with the per-replica
	// target, as KEDA's built-in scalers do; the HPA does the division.
	Raw Mode = "raw"
	// Replicas sends the replica count the scaler decided with target 1,
	// so rules the HPA cannot express (partition caps, even distribution,
	// lagTarget) land exactly. It needs behavior.scaleUp.tolerance 0: with
	// the default 10 % band the HPA ignores 10 -> 11.
	Replicas Mode = "replicas"
)

// Keys every source accepts.
const (
	KeyMode         = "metricMode"
	KeyDeactivation = "deactivationThreshold"
	KeyMinActive    = "minActiveDuration"
	KeyUnknownGrace = "unknownGracePeriod"
	KeyHPAName      = "hpaName"
	KeyHPABehavior  = "hpaBehavior"
)

// maxMinActive bounds minActiveDuration and unknownGracePeriod: longer
// than KEDA's longest sane cooldown is a typo, and the bound keeps time
// arithmetic far from overflow.
const maxMinActive = 24 * time.Hour

// DefaultUnknownGrace is unknownGracePeriod's default: a Prometheus restart
// or a missed scrape or rule evaluation is over well within it.
const DefaultUnknownGrace = time.Minute

// Options are the shared keys of one trigger, parsed once.
type Options struct {
	Mode       Mode
	Activation Activation
	// HPAName names the HPA that reads the trigger's metric when it is not
	// KEDA's keda-hpa-<ScaledObject> (hpaName), for HPA awareness.
	HPAName string
	// Behavior is the HPA behavior the user declares (hpaBehavior, the same
	// YAML as the ScaledObject's advanced.horizontalPodAutoscalerConfig
	// .behavior): explain and predictions use it when the live HPA cannot
	// be read. nil when not given.
	Behavior *hpa.Behavior
}

// Activation is when a trigger reports active.
type Activation struct {
	// On: inactive becomes active when activity rises above On (the
	// source's activation threshold, e.g. activationLagThreshold).
	On float64
	// Off: active becomes inactive only once activity is at or below Off
	// (deactivationThreshold, default On). Off < On is the hysteresis band
	// that keeps a demand hovering at the threshold from flapping.
	Off float64
	// MinActive keeps a trigger active at least this long after it became
	// active (minActiveDuration), so a short burst gets consumers that stay
	// long enough to start up and drain it.
	MinActive time.Duration
	// UnknownGrace is how long unknown samples (an empty or NaN Prometheus
	// answer read as 0 under ignoreNullValues) keep an active trigger
	// active before they count as 0 (unknownGracePeriod). 0 counts them at
	// once, as KEDA does. The trigger core sets it to 0 for sources whose
	// samples are never unknown.
	UnknownGrace time.Duration
}

// Stateful reports whether the answer depends on history, so that a
// trigger must see every sample rather than only the ones RPCs ask about.
func (a Activation) Stateful() bool {
	return a.Off != a.On || a.MinActive > 0 || a.UnknownGrace > 0
}

// Parse reads the shared keys; on is the source's activation threshold,
// already validated by the source. Every error names its key.
func Parse(md metadata.Metadata, on float64) (Options, error) {
	var o Options
	mode, err := md.Enum(KeyMode, string(Raw), string(Raw), string(Replicas))
	if err != nil {
		return o, err
	}
	o.Mode = Mode(mode)
	o.Activation.On = on
	if o.Activation.Off, err = md.Float(KeyDeactivation, on, false); err != nil {
		return o, err
	}
	if o.Activation.Off > on {
		return o, metadata.Invalid(KeyDeactivation, md.String(KeyDeactivation, ""),
			"must not be above the activation threshold (%s): a demand between the two would deactivate a trigger it just activated", fmtFloat(on))
	}
	if o.Activation.MinActive, err = md.Duration(KeyMinActive, 0, time.Second, 0, maxMinActive); err != nil {
		return o, err
	}
	if o.Activation.UnknownGrace, err = md.Duration(KeyUnknownGrace, DefaultUnknownGrace, time.Second, 0, maxMinActive); err != nil {
		return o, err
	}
	o.HPAName = md.String(KeyHPAName, "")
	if o.HPAName != "" && !dnsSubdomain.MatchString(o.HPAName) {
		return o, metadata.Invalid(KeyHPAName, o.HPAName, "not a valid Kubernetes object name")
	}
	if md.Has(KeyHPABehavior) {
		if o.Behavior, err = parseBehavior(md[KeyHPABehavior]); err != nil {
			return o, err
		}
	}
	return o, nil
}

var dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// parseBehavior names the offending field of an invalid behavior; the
// whole YAML is not repeated in the error.
func parseBehavior(raw string) (*hpa.Behavior, error) {
	b, err := hpa.ParseBehavior([]byte(raw))
	var fe *hpa.FieldError
	switch {
	case err == nil:
		return b, nil
	case errors.As(err, &fe):
		return nil, metadata.Invalid(KeyHPABehavior, fe.Value, "%s: %s", fe.Field, fe.Detail)
	default:
		return nil, metadata.Invalid(KeyHPABehavior, "", "%v", err)
	}
}

func fmtFloat(f float64) string { return fmt.Sprintf("%g", f) }

// Target is the per-replica target KEDA receives: the source's in raw mode,
// 1 in replicas mode.
func (o Options) Target(source float64) float64 {
	if o.Mode == Replicas {
		return 1
	}
	return source
}

// Value is the metric value KEDA receives: the source's demand in raw mode,
// its replica count in replicas mode.
func (o Options) Value(demand float64, replicas int64) float64 {
	if o.Mode == Replicas {
		return float64(replicas)
	}
	return demand
}

// LimitingRule names the rule that decided the replica count: the HPA's
// reason, unless the HPA moved freely to what the source asked for and the
// source itself was held back (a partition cap, even distribution), in
// which case the source's rule is the one that limits.
// sourceRule and sourceReplicas are the source's rule and replica count.
func LimitingRule(d hpa.Decision, sourceRule string, sourceReplicas int64) string {
	if d.Reason == hpa.Unlimited && sourceRule != "" && int64(d.Replicas) == sourceReplicas {
		return sourceRule
	}
	return string(d.Reason)
}

// Keys are the shared keys Parse reads.
func Keys() []string {
	return []string{KeyMode, KeyDeactivation, KeyMinActive, KeyUnknownGrace, KeyHPAName, KeyHPABehavior}
}
