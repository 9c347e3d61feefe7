package trigger

import (
	"fmt"
	"maps"
	"slices"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/strategy"
)

// Parsed is what a source makes of its own keys: what to read and how a
// sample becomes a value. Sources implement it (kafka.Trigger, ...).
type Parsed interface {
	Query() sources.Query
	// MetricName is the source's default metric name.
	MetricName() string
	// Target is the per-replica AverageValue target in raw mode.
	Target() float64
	// Activation is the source's activation threshold: the trigger is
	// active when a sample's Activity is above it.
	Activation() float64
	// Evaluate turns a sample into a value, replica count and rule.
	Evaluate(s sources.Sample) sources.Measurement
}

// replicasOnly is implemented by a Parsed whose options decide a replica
// count, which only metricMode: replicas sends; key names the option ("" when
// none is set) and why says what raw mode would do with it.
type replicasOnly interface {
	NeedsReplicasMode() (key, why string)
}

// unknownReporter is implemented by a Parsed whose samples may be unknown
// (sources.Sample.Unknown); the activation grace for them
// (unknownGracePeriod) applies only where it reports true.
type unknownReporter interface {
	ReportsUnknown() bool
}

// Source is one kind of demand, selected by the `source` key.
type Source struct {
	Name string
	// Keys are every metadata key the source reads (sorted or not).
	Keys []string
	// Parse reads the source's own keys; it never reads the shared ones.
	Parse func(md metadata.Metadata) (Parsed, error)
}

// Keys every trigger accepts besides its source's.
const (
	KeySource     = "source"
	KeyMetricName = "metricName"
)

// KEDAKeys are keys KEDA itself reads from an external trigger's metadata
// and forwards verbatim with the rest: the scaler's address and how KEDA
// connects to it. Every trigger accepts them.
var KEDAKeys = []string{"scalerAddress", "enableTLS", "unsafeSsl", "caCert", "tlsCertFile", "tlsClientCert", "tlsClientKey"}

// Registry is the set of sources a process offers.
type Registry struct {
	sources map[string]Source
	keys    map[string]map[string]bool // accepted keys by source
}

// NewRegistry returns a registry of srcs; names must be unique and non-empty.
func NewRegistry(srcs ...Source) (*Registry, error) {
	r := &Registry{sources: map[string]Source{}, keys: map[string]map[string]bool{}}
	common := append([]string{KeySource, KeyMetricName}, strategy.Keys()...)
	common = append(common, KEDAKeys...)
	for _, s := range srcs {
		switch _, dup := r.sources[s.Name]; {
		case s.Name == "" || s.Parse == nil:
			return nil, fmt.Errorf("trigger: source %q needs a name and a Parse", s.Name)
		case dup:
			return nil, fmt.Errorf("trigger: source %q registered twice", s.Name)
		}
		r.sources[s.Name] = s
		accepted := map[string]bool{}
		for _, k := range append(slices.Clone(s.Keys), common...) {
			accepted[k] = true
		}
		r.keys[s.Name] = accepted
	}
	return r, nil
}

// Names are the registered sources, sorted.
func (r *Registry) Names() []string { return slices.Sorted(maps.Keys(r.sources)) }

// Keys are every key a trigger of source accepts, sorted: the source's own,
// the shared strategy keys, source, metricName and KEDA's own.
func (r *Registry) Keys(source string) []string { return slices.Sorted(maps.Keys(r.keys[source])) }

// SourceKeys are the keys the source itself reads, sorted.
func (r *Registry) SourceKeys(source string) []string {
	keys := slices.Clone(r.sources[source].Keys)
	slices.Sort(keys)
	return slices.Compact(keys)
}
