package hpa

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// ParseBehavior reads an autoscaling/v2 behavior written as YAML or JSON
// (what a ScaledObject's advanced.horizontalPodAutoscalerConfig.behavior
// holds) and validates it as the API server would. Unknown fields are
// errors: a misspelt "stabilisationWindowSeconds" would otherwise be
// silently ignored. Tolerances are plain numbers (0.05), not quantity
// strings ("50m").
func ParseBehavior(data []byte) (*Behavior, error) {
	var b Behavior
	if err := yaml.UnmarshalStrict(data, &b); err != nil {
		return nil, fmt.Errorf("behavior: %w", err)
	}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return &b, nil
}
