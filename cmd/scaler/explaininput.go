package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// explainInput is what explain is asked about: one trigger's metadata and,
// optionally, the HPA that reads its metric.
type explainInput struct {
	metadata map[string]string
	hpa      hpa.HPA
	current  int32
	target   hpa.TargetType
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

// loadFile fills in from a ScaledObject (the trigger-th external trigger)
// or a {metadata, hpa} document. Flags given on the command line override
// it afterwards.
func (in *explainInput) loadFile(path string, trigger int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	var f scaledObjectFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("--file %s: %w", path, err)
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
			return fmt.Errorf("--file %s: --trigger %d: the ScaledObject has %d external trigger(s)", path, trigger, len(external))
		}
		t := f.Spec.Triggers[external[trigger]]
		in.metadata = stringify(t.Metadata)
		in.target = hpa.TargetType(t.MetricType)
		// KEDA's defaults: minReplicaCount 0 makes the HPA's minReplicas 1.
		in.hpa.MinReplicas, in.hpa.MaxReplicas = 1, 100
		if p := f.Spec.MinReplicaCount; p != nil && *p > 0 {
			in.hpa.MinReplicas = *p
		}
		if p := f.Spec.MaxReplicaCount; p != nil {
			in.hpa.MaxReplicas = *p
		}
		behavior = f.Spec.Advanced.HPAConfig.Behavior
	} else {
		if f.Metadata == nil {
			return fmt.Errorf("--file %s: neither a ScaledObject nor a document with a metadata map", path)
		}
		in.metadata = stringify(f.Metadata)
		if h := f.HPA; h != nil {
			if h.Replicas != nil {
				in.current = *h.Replicas
			}
			if h.MinReplicas != nil {
				in.hpa.MinReplicas = *h.MinReplicas
			}
			if h.MaxReplicas != nil {
				in.hpa.MaxReplicas = *h.MaxReplicas
			}
			in.target = hpa.TargetType(h.MetricType)
			behavior = h.Behavior
		}
	}
	if len(behavior) > 0 && string(behavior) != "null" {
		if in.hpa.Behavior, err = hpa.ParseBehavior(behavior); err != nil {
			return fmt.Errorf("--file %s: %w", path, err)
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

// metadataFlag collects repeated -m key=value flags.
type metadataFlag map[string]string

func (m metadataFlag) String() string { return "" }

func (m metadataFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	m[strings.TrimSpace(k)] = v
	return nil
}
