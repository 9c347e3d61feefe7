package hpa

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// The behavior as the API writes it. Tolerances are resource.Quantity
// there, so "0.05", "50m" and 0.05 are all valid (KEDA's CRD schema even
// requires a string or an integer for them).
type wireBehavior struct {
	ScaleUp   *wireRules `json:"scaleUp"`
	ScaleDown *wireRules `json:"scaleDown"`
}

type wireRules struct {
	StabilizationWindowSeconds *int32         `json:"stabilizationWindowSeconds"`
	SelectPolicy               *SelectPolicy  `json:"selectPolicy"`
	Policies                   []wirePolicy   `json:"policies"`
	Tolerance                  *wireTolerance `json:"tolerance"`
}

// wireTolerance is a tolerance's JSON as written (a string or a number),
// kept unparsed until checkTolerance has bounded it.
type wireTolerance struct{ raw []byte }

func (w *wireTolerance) UnmarshalJSON(b []byte) error {
	w.raw = append([]byte(nil), b...)
	return nil
}

// Bounds on a tolerance's text, checked before resource.ParseQuantity:
// apimachinery takes minutes over a quantity such as
// "12345678901234567891e234567890" (FuzzParseBehavior found it: 4 min 14 s),
// and the behavior is tenant-written metadata (hpaBehavior). A tolerance
// is a number; these bounds refuse no value a float64 holds (its longest
// decimal has 309 digits) and parse in microseconds.
const (
	maxToleranceLen         = 512
	maxToleranceExponentLen = 3
)

var longToleranceExponent = regexp.MustCompile(`[eE][+-]?[0-9]{4,}`)

type wirePolicy struct {
	Type          PolicyType `json:"type"`
	Value         int32      `json:"value"`
	PeriodSeconds int32      `json:"periodSeconds"`
}

// ParseBehavior reads an autoscaling/v2 behavior written as YAML or JSON
// (what a ScaledObject's advanced.horizontalPodAutoscalerConfig.behavior
// holds) and validates it as the API server would. Unknown fields are
// errors: a misspelt "stabilisationWindowSeconds" would otherwise be
// silently ignored.
func ParseBehavior(data []byte) (*Behavior, error) {
	var w wireBehavior
	if err := yaml.UnmarshalStrict(data, &w); err != nil {
		return nil, fmt.Errorf("behavior: %w", err)
	}
	up, errUp := w.ScaleUp.rules("behavior.scaleUp")
	down, errDown := w.ScaleDown.rules("behavior.scaleDown")
	if err := errors.Join(errUp, errDown); err != nil {
		return nil, err
	}
	b := &Behavior{ScaleUp: up, ScaleDown: down}
	err := errors.Join(w.ScaleUp.emptySelect("behavior.scaleUp"), w.ScaleDown.emptySelect("behavior.scaleDown"), b.Validate())
	if err != nil {
		return nil, err
	}
	return b, nil
}

// tolerance reads a tolerance as the controller does: the quantity the API
// server stored, in canonical form ("0.3" comes back as 300m, so 0.3
// rather than 0.30000000000000004), after bounding its text.
func (w *wireTolerance) tolerance(path string) (float64, error) {
	text := string(w.raw)
	var s string
	if json.Unmarshal(w.raw, &s) == nil {
		text = s
	}
	bad := func(detail string, args ...any) error {
		v := text
		if len(v) > maxToleranceLen {
			v = v[:maxToleranceLen] + "..."
		}
		return &FieldError{Field: path + ".tolerance", Value: v, Detail: fmt.Sprintf(detail, args...)}
	}
	if len(text) > maxToleranceLen {
		return 0, bad("longer than %d characters", maxToleranceLen)
	}
	if longToleranceExponent.MatchString(text) {
		return 0, bad("a decimal exponent of at most %d digits", maxToleranceExponentLen)
	}
	var q resource.Quantity
	if err := q.UnmarshalJSON(w.raw); err != nil {
		return 0, fmt.Errorf("behavior: %s.tolerance: %w", path, err)
	}
	stored := resource.MustParse(q.String())
	return stored.AsApproximateFloat64(), nil
}

// emptySelect rejects `selectPolicy: ""`: Rules reads "" as unset, the API
// server does not (only a missing or null selectPolicy defaults to Max).
func (w *wireRules) emptySelect(path string) error {
	if w == nil || w.SelectPolicy == nil || *w.SelectPolicy != "" {
		return nil
	}
	return &FieldError{Field: path + ".selectPolicy", Value: `""`, Detail: `must be one of "Max", "Min", "Disabled"`}
}

func (w *wireRules) rules(path string) (*Rules, error) {
	if w == nil {
		return nil, nil
	}
	r := &Rules{StabilizationWindowSeconds: w.StabilizationWindowSeconds}
	if w.SelectPolicy != nil {
		r.SelectPolicy = *w.SelectPolicy
	}
	if w.Policies != nil {
		r.Policies = make([]Policy, len(w.Policies))
		for i, p := range w.Policies {
			r.Policies[i] = Policy(p)
		}
	}
	if w.Tolerance != nil {
		t, err := w.Tolerance.tolerance(path)
		if err != nil {
			return nil, err
		}
		r.Tolerance = &t
	}
	return r, nil
}
