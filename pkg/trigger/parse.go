package trigger

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/strategy"
)

// Limits on what one trigger's metadata may carry, checked before anything
// is parsed or stored, so that a hostile or broken client cannot make the
// scaler hold unbounded memory.
const (
	MaxMetadataKeys  = 128
	MaxMetadataBytes = 64 << 10
)

// LimitError is a request refused because it exceeds a configured limit
// (gRPC ResourceExhausted).
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

var metricNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,198}[a-zA-Z0-9])?$`)

// Parse builds a Trigger from md, which it does not keep (it keeps a copy).
// Every invalid key is a *metadata.ConfigError naming the key; metadata over
// the limits is a *LimitError. The trigger starts inactive.
func (r *Registry) Parse(md map[string]string) (*Trigger, error) {
	if err := checkLimits(md); err != nil {
		return nil, err
	}
	m := metadata.Metadata(maps.Clone(md))
	name, err := m.Required(KeySource)
	if err != nil {
		return nil, err
	}
	src, ok := r.sources[name]
	if !ok {
		return nil, metadata.Invalid(KeySource, name, "unknown source; want one of %v", r.Names())
	}
	if err := r.unknownKey(name, m); err != nil {
		return nil, err
	}
	p, err := src.Parse(m)
	if err != nil {
		return nil, err
	}
	t := &Trigger{source: name, parsed: p, name: p.MetricName(), md: m}
	if m.Has(KeyMetricName) {
		t.name = m.String(KeyMetricName, "")
		if !metricNameRE.MatchString(t.name) {
			return nil, metadata.Invalid(KeyMetricName, t.name,
				"want 1-200 characters of letters, digits, '.', '_' or '-', starting and ending with a letter or digit")
		}
	}
	if t.opts, err = strategy.Parse(m, p.Activation()); err != nil {
		return nil, err
	}
	if ur, ok := p.(unknownReporter); !ok || !ur.ReportsUnknown() {
		// No sample is ever unknown: no grace to hold, no follower for it.
		t.opts.Activation.UnknownGrace = 0
	}
	if ro, ok := p.(replicasOnly); ok && t.opts.Mode != strategy.Replicas {
		if key, why := ro.NeedsReplicasMode(); key != "" {
			return nil, metadata.Invalid(key, m.String(key, ""), "requires %s: %s (%s)", strategy.KeyMode, strategy.Replicas, why)
		}
	}
	return t, nil
}

// checkLimits bounds the number of keys and their total size.
func checkLimits(md map[string]string) error {
	if len(md) > MaxMetadataKeys {
		return &LimitError{fmt.Sprintf("scalerMetadata has %d keys, more than the limit of %d", len(md), MaxMetadataKeys)}
	}
	size := 0
	for k, v := range md {
		size += len(k) + len(v)
	}
	if size > MaxMetadataBytes {
		return &LimitError{fmt.Sprintf("scalerMetadata is %d bytes, more than the limit of %d", size, MaxMetadataBytes)}
	}
	return nil
}

// unknownKey fails on the first key (in sorted order) that the source does
// not accept, naming the nearest accepted key. The value is not repeated: a
// misspelt credential key holds a secret.
func (r *Registry) unknownKey(source string, md metadata.Metadata) error {
	accepted := r.keys[source]
	for _, k := range slices.Sorted(maps.Keys(md)) {
		if accepted[k] {
			continue
		}
		reason := "is not a key of source " + source
		if near := nearest(k, accepted); near != "" {
			reason += fmt.Sprintf(" (did you mean %q?)", near)
		}
		return &metadata.ConfigError{Key: k, Reason: reason}
	}
	return nil
}

// nearest is the accepted key closest to k by edit distance (ignoring
// case), if it is close enough to be a likely typo; "" otherwise. Ties go
// to the alphabetically first key, so the hint is stable.
func nearest(k string, accepted map[string]bool) string {
	if len(k) > 64 {
		return "" // no key is that long; and the distance costs len(k) per key
	}
	best, bestD := "", max(2, len(k)/4)+1
	lk := strings.ToLower(k)
	for _, a := range slices.Sorted(maps.Keys(accepted)) {
		if d := distance(lk, strings.ToLower(a)); d < bestD {
			best, bestD = a, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
