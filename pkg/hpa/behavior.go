package hpa

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// SelectPolicy chooses among a direction's policies.
type SelectPolicy string

const (
	// SelectMax takes the policy allowing the largest change (the default).
	SelectMax SelectPolicy = "Max"
	// SelectMin takes the policy allowing the smallest change.
	SelectMin SelectPolicy = "Min"
	// SelectDisabled forbids scaling in that direction.
	SelectDisabled SelectPolicy = "Disabled"
)

// PolicyType says how a Policy's Value limits a change.
type PolicyType string

const (
	// PodsPolicy allows Value pods per period.
	PodsPolicy PolicyType = "Pods"
	// PercentPolicy allows Value percent of the count at the period's start.
	PercentPolicy PolicyType = "Percent"
)

// Policy is one rate limit: a change of Value (pods or percent) within any
// PeriodSeconds.
type Policy struct {
	Type          PolicyType
	Value         int32
	PeriodSeconds int32
}

// Rules is behavior.scaleUp or behavior.scaleDown. Nil pointers, an empty
// SelectPolicy and nil Policies are "unset" and take defaults (see Defaults).
type Rules struct {
	StabilizationWindowSeconds *int32
	SelectPolicy               SelectPolicy
	Policies                   []Policy
	// Tolerance overrides the controller's tolerance in this direction
	// (KEP-4951). It has no default: unset means the flag.
	Tolerance *float64
}

// Behavior is spec.behavior.
type Behavior struct {
	ScaleUp   *Rules
	ScaleDown *Rules
}

// API limits (pkg/apis/autoscaling/validation).
const (
	MaxStabilizationWindowSeconds = 3600
	MaxPeriodSeconds              = 1800
)

// Defaults returns b with every unset field filled the way an HPA with a
// behavior ends up: the API server fills scaleUp {window 0, Max, Pods 4/15s
// and Percent 100/15s} and scaleDown {Max, Percent 100/15s}, and the
// controller fills the scaleDown window from cfg.DownscaleStabilization,
// truncated to whole seconds. Set fields are kept as given, policies
// included: a policy list replaces the defaults, it is not merged with them.
//
// A nil b is treated as an empty behavior (`behavior: {}`), but Sync never
// calls Defaults for a nil behavior: an HPA without one takes the legacy path.
// The result shares nothing with b.
func Defaults(b *Behavior, cfg Config) Behavior {
	if b == nil {
		b = &Behavior{}
	}
	up := defaultRules(b.ScaleUp, Rules{
		StabilizationWindowSeconds: ptr(int32(0)),
		SelectPolicy:               SelectMax,
		Policies: []Policy{
			{Type: PodsPolicy, Value: 4, PeriodSeconds: 15},
			{Type: PercentPolicy, Value: 100, PeriodSeconds: 15},
		},
	})
	down := defaultRules(b.ScaleDown, Rules{
		StabilizationWindowSeconds: ptr(int32(cfg.DownscaleStabilization.Seconds())),
		SelectPolicy:               SelectMax,
		Policies:                   []Policy{{Type: PercentPolicy, Value: 100, PeriodSeconds: 15}},
	})
	return Behavior{ScaleUp: &up, ScaleDown: &down}
}

func defaultRules(from *Rules, to Rules) Rules {
	if from == nil {
		return to
	}
	if from.StabilizationWindowSeconds != nil {
		to.StabilizationWindowSeconds = ptr(*from.StabilizationWindowSeconds)
	}
	if from.SelectPolicy != "" {
		to.SelectPolicy = from.SelectPolicy
	}
	// Upstream copies a non-nil list, so an explicit empty list survives
	// defaulting and then fails validation.
	if from.Policies != nil {
		to.Policies = slices.Clone(from.Policies)
	}
	if from.Tolerance != nil {
		to.Tolerance = ptr(*from.Tolerance)
	}
	return to
}

func ptr[T any](v T) *T { return &v }

// FieldError is one invalid field, named by its path under the HPA spec
// (behavior.scaleUp.policies[0].periodSeconds) with the rejected value.
type FieldError struct {
	Field  string
	Value  string
	Detail string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: invalid value %s: %s", e.Field, e.Value, e.Detail)
}

// Validate reports every field the API server would reject, joined (use
// errors.As to reach the first *FieldError). It accepts unset fields, so it
// can run before or after Defaults; after is what the API server does, and
// catches an explicit empty policy list.
func (b Behavior) Validate() error {
	var errs []error
	errs = b.ScaleUp.validate("behavior.scaleUp", errs)
	errs = b.ScaleDown.validate("behavior.scaleDown", errs)
	return errors.Join(errs...)
}

func (r *Rules) validate(path string, errs []error) []error {
	if r == nil {
		return errs
	}
	bad := func(field, value, detail string) {
		errs = append(errs, &FieldError{Field: path + "." + field, Value: value, Detail: detail})
	}
	if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > MaxStabilizationWindowSeconds) {
		bad("stabilizationWindowSeconds", itoa(*w), fmt.Sprintf("must be between 0 and %d", MaxStabilizationWindowSeconds))
	}
	switch r.SelectPolicy {
	case "", SelectMax, SelectMin, SelectDisabled:
	default:
		bad("selectPolicy", strconv.Quote(string(r.SelectPolicy)), `must be one of "Max", "Min", "Disabled"`)
	}
	if r.Policies != nil && len(r.Policies) == 0 {
		bad("policies", "[]", "must specify at least one policy")
	}
	for i, p := range r.Policies {
		at := fmt.Sprintf("policies[%d].", i)
		if p.Type != PodsPolicy && p.Type != PercentPolicy {
			bad(at+"type", strconv.Quote(string(p.Type)), `must be one of "Pods", "Percent"`)
		}
		if p.Value <= 0 {
			bad(at+"value", itoa(p.Value), "must be greater than zero")
		}
		if p.PeriodSeconds < 1 || p.PeriodSeconds > MaxPeriodSeconds {
			bad(at+"periodSeconds", itoa(p.PeriodSeconds), fmt.Sprintf("must be between 1 and %d", MaxPeriodSeconds))
		}
	}
	// A Quantity cannot hold NaN or Inf; a float can, so reject them here.
	if t := r.Tolerance; t != nil && !(*t >= 0 && !math.IsInf(*t, 1)) {
		bad("tolerance", strconv.FormatFloat(*t, 'g', -1, 64), "must be a finite number greater than or equal to zero")
	}
	return errs
}

func itoa(v int32) string { return strconv.FormatInt(int64(v), 10) }
