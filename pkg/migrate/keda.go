package migrate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// KEDAVersion is the KEDA release whose arithmetic this package recomputes.
const KEDAVersion = "v2.21.0"

// KEDAReading is what KEDA's built-in scaler would send for one reading.
type KEDAReading struct {
	MetricName string  // with KEDA's sN- prefix
	Target     float64 // GetMetricSpecForScaling's target
	Value      float64 // GetMetricsAndActivity's value
	Active     bool    // GetMetricsAndActivity's activity
	// Notes say where KEDA would not read what Tide read (a comma list or
	// glob KEDA reads literally, say), so the recomputation is not the
	// whole story.
	Notes []string
}

// Observed is the reading Tide took, in the terms KEDA's arithmetic needs.
type Observed struct {
	// Parts are the per-part values: per-partition lag (Kafka), per-key
	// depth (Redis lists); the stream's count; the query's value.
	Parts []float64
	// Value is the whole reading (Tide's sample value before its caps).
	Value float64
	// Unknown: the upstream gave no number (an empty, NaN or ±Inf
	// Prometheus answer).
	Unknown bool
}

// KafkaOptions are the keys KEDA's kafka arithmetic reads.
type KafkaOptions struct {
	LagThreshold, ActivationLagThreshold                                 int64
	AllowIdleConsumers, LimitToPartitionsWithLag, EnsureEvenDistribution bool
}

// KafkaLag is KEDA v2.21.0's getTotalLag over per-partition lags
// (pkg/scalers/kafka_scaler.go lines 907-957): the sum of the lags; unless
// allowIdleConsumers (or with limitToPartitionsWithLag or
// ensureEvenDistributionOfPartitions), even distribution first snaps the
// lag to the next factor of the partitions × lagThreshold (lines 939-943,
// getNextFactorThatBalancesConsumersToTopicPartitions lines 960-968), then
// the value is capped at upperBound × lagThreshold only when
// totalLag / lagThreshold, in integer division, exceeds upperBound (lines
// 948-950): the partitions, or the partitions with lag (lines 944-946).
// Activity is the uncapped sum > activationLagThreshold (line 903). A fresh
// scaler's excludePersistentLag has no previous offsets, so every lag counts
// (lines 753-762).
func KafkaLag(lags []int64, o KafkaOptions) (value int64, active bool) {
	var total, withLag int64
	for _, l := range lags {
		total += l
		if l > 0 {
			withLag++
		}
	}
	active = total > o.ActivationLagThreshold
	partitions := int64(len(lags))
	if o.LagThreshold <= 0 { // KEDA refuses it when parsing
		return total, active
	}
	if !o.AllowIdleConsumers || o.LimitToPartitionsWithLag || o.EnsureEvenDistribution {
		upper := partitions
		if o.EnsureEvenDistribution {
			total = nextFactor(total, partitions, o.LagThreshold) * o.LagThreshold
		}
		if o.LimitToPartitionsWithLag {
			upper = withLag
		}
		if total/o.LagThreshold > upper {
			total = upper * o.LagThreshold
		}
	}
	return total, active
}

// nextFactor is KEDA's getNextFactorThatBalancesConsumersToTopicPartitions
// with FindFactors (pkg/scalers/kafka_scaler.go lines 960-968, 1037-1057).
func nextFactor(totalLag, partitions, lagThreshold int64) int64 {
	var factors []int64
	for i := int64(1); i*i <= partitions; i++ {
		if partitions%i == 0 {
			factors = append(factors, i)
			if i != partitions/i {
				factors = append(factors, partitions/i)
			}
		}
	}
	slices.Sort(factors)
	for _, f := range factors {
		if f*lagThreshold >= totalLag {
			return f
		}
	}
	return partitions
}

// Recompute is what KEDA v2.21.0's scaler of type kedaType, with KEDA's
// metadata md at trigger index index, would send for the reading o. Its
// errors name the key, as KEDA's parsing would refuse it.
func Recompute(kedaType string, md map[string]string, index int, o Observed) (KEDAReading, error) {
	m, ok := Lookup(kedaType)
	if !ok {
		return KEDAReading{}, fmt.Errorf("trigger type %q: no KEDA arithmetic for it", kedaType)
	}
	p := kedaParams{md: md}
	var r KEDAReading
	name := func(s string) { r.MetricName = fmt.Sprintf("s%d-%s", index, normalize(s)) }
	switch {
	case kedaType == "kafka":
		// kafka_scaler.go lines 796-812: kafka-<topic>, else kafka-<group>-topics.
		if t := md["topic"]; t != "" {
			name("kafka-" + t)
		} else {
			name("kafka-" + md["consumerGroup"] + "-topics")
		}
		opts := KafkaOptions{LagThreshold: p.int("lagThreshold", 10), ActivationLagThreshold: p.int("activationLagThreshold", 0),
			AllowIdleConsumers: p.bool("allowIdleConsumers"), LimitToPartitionsWithLag: p.bool("limitToPartitionsWithLag"),
			EnsureEvenDistribution: p.bool("ensureEvenDistributionOfPartitions")}
		if p.err == nil && opts.LagThreshold <= 0 {
			p.err = fmt.Errorf("key \"lagThreshold\": %d: must be positive", opts.LagThreshold)
		}
		if p.err != nil {
			return r, p.err
		}
		lags := make([]int64, len(o.Parts))
		for i, v := range o.Parts {
			lags[i] = int64(v)
		}
		v, active := KafkaLag(lags, opts)
		r.Target, r.Value, r.Active = float64(opts.LagThreshold), float64(v), active
	case m.Source == "redis" && md["stream"] == "":
		// redis_scaler.go lines 251-277: redis-<listName>; the key's length;
		// active when length > activationListLength.
		name("redis-" + md["listName"])
		r.Target = float64(p.int("listLength", 5))
		r.Value = o.Value
		r.Active = o.Value > float64(p.int("activationListLength", 0))
		if strings.ContainsAny(md["listName"], ",*?[") {
			r.Notes = append(r.Notes, fmt.Sprintf("KEDA reads the key %q literally; Tide read it as a comma list or glob", md["listName"]))
		}
	case m.Source == "redis":
		// redis_streams_scaler.go lines 80-90 (which count), 298-331.
		name("redis-streams-" + md["stream"])
		switch {
		case md["consumerGroup"] == "":
			r.Target = float64(p.int("streamLength", 5))
		case p.int("lagCount", 0) != 0:
			r.Target = float64(p.int("lagCount", 0))
		default:
			r.Target = float64(p.int("pendingEntriesCount", 5))
		}
		r.Value = o.Value
		r.Active = o.Value > float64(p.int("activationLagCount", 0))
	default: // prometheus
		// prometheus_scaler.go lines 209-221 (s<i>-prometheus), 284-325 (an
		// empty or NaN answer is 0 under ignoreNullValues, else an error),
		// 329-339 (active when value > activationThreshold).
		name("prometheus")
		if md["threshold"] == "" {
			return r, errors.New(`key "threshold": KEDA requires it`)
		}
		r.Target = p.float("threshold", 0)
		if o.Unknown {
			if v, ok := md["ignoreNullValues"]; ok && v != "" && !p.bool("ignoreNullValues") {
				return r, fmt.Errorf("KEDA would fail: the query gave no number and ignoreNullValues is false")
			}
			o.Value = 0
		}
		r.Value = o.Value
		r.Active = o.Value > p.float("activationThreshold", 0)
	}
	return r, p.err
}

// normalize is KEDA's util.NormalizeString (pkg/util/normalize_string.go
// lines 33-41).
func normalize(s string) string {
	return strings.NewReplacer("/", "-", ".", "-", ":", "-", "%", "-", "(", "-", ")", "-").Replace(s)
}

// kedaParams reads KEDA's metadata with KEDA's defaults, keeping the
// first error.
type kedaParams struct {
	md  map[string]string
	err error
}

func (p *kedaParams) int(key string, def int64) int64 {
	v, ok := p.md[key]
	if !ok || v == "" {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("key %q: %q is not an integer", key, v)
	}
	return n
}

func (p *kedaParams) float(key string, def float64) float64 {
	v, ok := p.md[key]
	if !ok || v == "" {
		return def
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("key %q: %q is not a number", key, v)
	}
	return f
}

func (p *kedaParams) bool(key string) bool {
	v, ok := p.md[key]
	if !ok || v == "" {
		return key == "ignoreNullValues" // KEDA's only true default here
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("key %q: %q is not a boolean", key, v)
	}
	return b
}
