package explain

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"sigs.k8s.io/yaml"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
)

// Input is what explain is asked about: one trigger's metadata and the HPA
// that reads its metric.
type Input struct {
	Metadata map[string]string
	HPA      hpa.HPA
	// Current is the workload's replicas now.
	Current int32
	// Target is the trigger's metricType: AverageValue (KEDA's default) or
	// Value.
	Target hpa.TargetType
}

// NewInput is an input with KEDA's defaults: min 1, max 100, AverageValue,
// current replicas unknown (-1).
func NewInput() Input {
	return Input{Metadata: map[string]string{}, Current: -1, HPA: hpa.HPA{MinReplicas: 1, MaxReplicas: 100}}
}

// scaledObjectFile is the part of a KEDA ScaledObject explain reads.
// Alternatively a file may hold a bare {metadata, hpa} document.
type scaledObjectFile struct {
	Kind string `json:"kind"`
	Spec struct {
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		Advanced        struct {
			HPAConfig struct {
				Behavior json.RawMessage `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
		Triggers []struct {
			Type       string         `json:"type"`
			MetricType string         `json:"metricType"`
			Metadata   map[string]any `json:"metadata"`
		} `json:"triggers"`
	} `json:"spec"`

	Metadata map[string]any `json:"metadata"`
	HPA      *struct {
		Replicas    *int32          `json:"replicas"`
		MinReplicas *int32          `json:"minReplicas"`
		MaxReplicas *int32          `json:"maxReplicas"`
		MetricType  string          `json:"metricType"`
		Behavior    json.RawMessage `json:"behavior"`
	} `json:"hpa"`
}

// LoadFile fills in from a ScaledObject (the trigger-th external trigger)
// or a {metadata, hpa} document read from path.
func (in *Input) LoadFile(path string, trigger int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var f scaledObjectFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var behavior json.RawMessage
	if f.Kind == "ScaledObject" {
		var external []int
		for i, t := range f.Spec.Triggers {
			if t.Type == "external" || t.Type == "external-push" {
				external = append(external, i)
			}
		}
		if trigger < 0 || trigger >= len(external) {
			return fmt.Errorf("%s: external trigger %d: the ScaledObject has %d external trigger(s)", path, trigger, len(external))
		}
		t := f.Spec.Triggers[external[trigger]]
		in.Metadata = stringify(t.Metadata)
		in.Target = hpa.TargetType(t.MetricType)
		// KEDA's defaults: minReplicaCount 0 makes the HPA's minReplicas 1.
		in.HPA.MinReplicas, in.HPA.MaxReplicas = 1, 100
		if p := f.Spec.MinReplicaCount; p != nil && *p > 0 {
			in.HPA.MinReplicas = *p
		}
		if p := f.Spec.MaxReplicaCount; p != nil {
			in.HPA.MaxReplicas = *p
		}
		behavior = f.Spec.Advanced.HPAConfig.Behavior
	} else {
		if f.Metadata == nil {
			return fmt.Errorf("%s: neither a ScaledObject nor a document with a metadata map", path)
		}
		in.Metadata = stringify(f.Metadata)
		if h := f.HPA; h != nil {
			if h.Replicas != nil {
				in.Current = *h.Replicas
			}
			if h.MinReplicas != nil {
				in.HPA.MinReplicas = *h.MinReplicas
			}
			if h.MaxReplicas != nil {
				in.HPA.MaxReplicas = *h.MaxReplicas
			}
			in.Target = hpa.TargetType(h.MetricType)
			behavior = h.Behavior
		}
	}
	if len(behavior) > 0 && string(behavior) != "null" {
		if in.HPA.Behavior, err = hpa.ParseBehavior(behavior); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// stringify turns YAML scalars into the strings KEDA sends (YAML reads
// lagThreshold: 10 as a number).
func stringify(m map[string]any) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case nil:
			out[k] = ""
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// Given says which HPA settings the user gave explicitly; FromCluster
// keeps those.
type Given struct {
	Replicas, MinReplicas, MaxReplicas, Behavior, MetricType bool
}

// FromCluster takes the HPA's spec, replicas and metric type from the live
// HPA s, except what was given.
func FromCluster(in Input, s kube.Snapshot, e Explanation, given Given) Input {
	if !given.Replicas {
		in.Current = s.Current.Spec
	}
	if !given.MinReplicas {
		in.HPA.MinReplicas = s.HPA.MinReplicas
	}
	if !given.MaxReplicas {
		in.HPA.MaxReplicas = s.HPA.MaxReplicas
	}
	if !given.Behavior {
		in.HPA.Behavior = s.HPA.Behavior
	}
	if !given.MetricType {
		for _, m := range s.Metrics {
			if kube.StripIndex(m.Name) == e.MetricName {
				in.Target = m.Target.Type
			}
		}
	}
	return in
}
