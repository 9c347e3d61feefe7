package hpa

import (
	"errors"
	"fmt"

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
	StabilizationWindowSeconds *int32             `json:"stabilizationWindowSeconds"`
	SelectPolicy               *SelectPolicy      `json:"selectPolicy"`
	Policies                   []wirePolicy       `json:"policies"`
	Tolerance                  *resource.Quantity `json:"tolerance"`
}

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
	b := &Behavior{ScaleUp: w.ScaleUp.rules(), ScaleDown: w.ScaleDown.rules()}
	err := errors.Join(w.ScaleUp.emptySelect("behavior.scaleUp"), w.ScaleDown.emptySelect("behavior.scaleDown"), b.Validate())
	if err != nil {
		return nil, err
	}
	return b, nil
}

// emptySelect rejects `selectPolicy: ""`: Rules reads "" as unset, the API
// server does not (only a missing or null selectPolicy defaults to Max).
func (w *wireRules) emptySelect(path string) error {
	if w == nil || w.SelectPolicy == nil || *w.SelectPolicy != "" {
		return nil
	}
	return &FieldError{Field: path + ".selectPolicy", Value: `""`, Detail: `must be one of "Max", "Min", "Disabled"`}
}

func (w *wireRules) rules() *Rules {
	if w == nil {
		return nil
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
		// The controller reads the quantity the API server stored, in
		// canonical form: "0.3" comes back as 300m, 0.3 rather than
		// 0.30000000000000004. A String() always parses.
		stored := resource.MustParse(w.Tolerance.String())
		t := stored.AsApproximateFloat64()
		r.Tolerance = &t
	}
	return r
}
