package strategy

import (
	"fmt"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
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
)

// maxMinActive bounds minActiveDuration: longer than KEDA's longest sane
// cooldown is a typo, and the bound keeps time arithmetic far from overflow.
const maxMinActive = 24 * time.Hour

// Options are the shared keys of one trigger, parsed once.
type Options struct {
	Mode       Mode
	Activation Activation
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
}

// Stateful reports whether the answer depends on history, so that a
// trigger must see every sample rather than only the ones RPCs ask about.
func (a Activation) Stateful() bool { return a.Off != a.On || a.MinActive > 0 }

// Parse reads the shared keys; on is the source's activation threshold,
// already validated by the source. Every error names its key.
func Parse(md sources.Metadata, on float64) (Options, error) {
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
		return o, sources.Invalid(KeyDeactivation, md.String(KeyDeactivation, ""),
			"must not be above the activation threshold (%s): a demand between the two would deactivate a trigger it just activated", fmtFloat(on))
	}
	if o.Activation.MinActive, err = md.Duration(KeyMinActive, 0, time.Second, 0, maxMinActive); err != nil {
		return o, err
	}
	return o, nil
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

// Value is the metric value KEDA receives for m.
func (o Options) Value(m sources.Measurement) float64 {
	if o.Mode == Replicas {
		return float64(m.Replicas)
	}
	return m.Value
}
