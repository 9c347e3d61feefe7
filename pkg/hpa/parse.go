package hpa

import (
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
	SelectPolicy               SelectPolicy       `json:"selectPolicy"`
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
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

func (w *wireRules) rules() *Rules {
	if w == nil {
		return nil
	}
	r := &Rules{StabilizationWindowSeconds: w.StabilizationWindowSeconds, SelectPolicy: w.SelectPolicy}
	if w.Policies != nil {
		r.Policies = make([]Policy, len(w.Policies))
		for i, p := range w.Policies {
			r.Policies[i] = Policy(p)
		}
	}
	if w.Tolerance != nil {
		t := w.Tolerance.AsApproximateFloat64()
		r.Tolerance = &t
	}
	return r
}
