package explain

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/migrate"
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
	// KEDA is the built-in KEDA trigger the metadata was converted from,
	// if any: explain then shows what KEDA's arithmetic sends beside Tide.
	KEDA *KEDATrigger
}

// NewInput is an input with KEDA's defaults: min 1, max 100, AverageValue,
// current replicas unknown (-1).
func NewInput() Input {
	return Input{Metadata: map[string]string{}, Current: -1, HPA: hpa.HPA{MinReplicas: 1, MaxReplicas: 100}}
}

// scaledObjectFile is the part of a KEDA ScaledObject explain reads.
// Alternatively a file may hold a bare {metadata, hpa} document.
type scaledObjectFile struct {
	Spec struct {
		MinReplicaCount *int32 `json:"minReplicaCount"`
		MaxReplicaCount *int32 `json:"maxReplicaCount"`
		Advanced        struct {
			HPAConfig struct {
				Behavior json.RawMessage `json:"behavior"`
			} `json:"horizontalPodAutoscalerConfig"`
		} `json:"advanced"`
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

// KEDATrigger is a ScaledObject's built-in KEDA trigger that explain
// converted to Tide's (a migration dry run).
type KEDATrigger struct {
	Type     string
	Metadata map[string]string // as KEDA reads it
	Index    int               // in spec.triggers: KEDA's sN- metric prefix
	Notes    []string          // what the conversion dropped or changed
}

// Select picks what LoadFile reads: the ScaledObject named Name (needed
// when a file holds several) and its Trigger-th trigger that Tide can
// explain (external, external-push, or a built-in type it converts).
type Select struct {
	Name    string
	Trigger int
}

// LoadFile fills in from a multi-document YAML file: a ScaledObject (other
// documents, such as Secrets and Deployments, are skipped) or a {metadata,
// hpa} document. A built-in kafka, redis, redis-streams or prometheus
// trigger is converted to Tide's metadata and kept in KEDA; one that
// cannot be converted is a *metadata.ConfigError.
func (in *Input) LoadFile(path string, sel Select) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	docs, _, err := migrate.ScaledObjects(b)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(docs) == 0 {
		return in.loadBare(path, b)
	}
	d, err := migrate.Pick(docs, sel.Name)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var f scaledObjectFile
	if err := remarshal(d.Object, &f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var usable []int
	triggers := d.Triggers()
	for i, t := range triggers {
		typ, _ := t["type"].(string)
		if _, builtin := migrate.Lookup(typ); builtin || typ == "external" || typ == "external-push" {
			usable = append(usable, i)
		}
	}
	if sel.Trigger < 0 || sel.Trigger >= len(usable) {
		return fmt.Errorf("%s: trigger %d: ScaledObject %s has %d trigger(s) Tide can explain (external, external-push, %s)",
			path, sel.Trigger, d.Name, len(usable), strings.Join(migrate.Types(), ", "))
	}
	idx := usable[sel.Trigger]
	t := triggers[idx]
	typ, _ := t["type"].(string)
	md := migrate.Stringify(t["metadata"])
	in.Metadata = md
	if typ != "external" && typ != "external-push" {
		res := migrate.Convert(typ, md)
		if len(res.Problems) > 0 {
			return &metadata.ConfigError{Key: "type", Value: typ, Reason: "cannot convert: " + strings.Join(res.Problems, "; ")}
		}
		in.Metadata = res.Metadata
		in.KEDA = &KEDATrigger{Type: typ, Metadata: md, Index: idx, Notes: res.Notes}
	}
	mt, _ := t["metricType"].(string)
	in.Target = hpa.TargetType(mt)
	// KEDA's defaults: minReplicaCount 0 makes the HPA's minReplicas 1.
	in.HPA.MinReplicas, in.HPA.MaxReplicas = 1, 100
	if p := f.Spec.MinReplicaCount; p != nil && *p > 0 {
		in.HPA.MinReplicas = *p
	}
	if p := f.Spec.MaxReplicaCount; p != nil {
		in.HPA.MaxReplicas = *p
	}
	return in.behavior(path, f.Spec.Advanced.HPAConfig.Behavior)
}

// loadBare reads the first {metadata, hpa} document (one without a kind).
func (in *Input) loadBare(path string, b []byte) error {
	var f scaledObjectFile
	for _, doc := range strings.Split("\n"+string(b), "\n---") {
		var probe map[string]any
		if err := yaml.Unmarshal([]byte(doc), &probe); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if _, kind := probe["kind"]; !kind && probe["metadata"] != nil {
			if err := yaml.Unmarshal([]byte(doc), &f); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			break
		}
	}
	if f.Metadata == nil {
		return fmt.Errorf("%s: neither a ScaledObject nor a document with a metadata map", path)
	}
	in.Metadata = migrate.Stringify(f.Metadata)
	var behavior json.RawMessage
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
	return in.behavior(path, behavior)
}

func (in *Input) behavior(path string, behavior json.RawMessage) error {
	if len(behavior) > 0 && string(behavior) != "null" {
		var err error
		if in.HPA.Behavior, err = hpa.ParseBehavior(behavior); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}

// remarshal decodes a generic object into a typed one through JSON.
func remarshal(from any, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
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
