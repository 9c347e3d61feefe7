package metrics

import (
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Series is one of the series kept per ScaledObject metric.
type Series uint8

// The series of a ScaledObject metric, each labelled by namespace,
// scaledobject and metric.
const (
	Value      Series = iota // tide_metric_value: last metric value sent to KEDA
	Target                   // tide_metric_target: the target of the metric spec
	SampleAge                // tide_sample_age_seconds: age of the sample behind the last value sent
	Replicas                 // tide_desired_replicas: replicas the HPA derives from zero
	Active                   // tide_active: 1 when the last activation answer was true
	LagSeconds               // tide_lag_seconds: how far behind the consumers are in time
	numSeries
)

// initial is which series a ScaledObject metric exports from its first
// value on (at 0 until set): all but LagSeconds, which appears when it is
// first set (most triggers have no lag in time).
const initial = (1<<numSeries - 1) &^ (1 << LagSeconds)

// MetricKey names one ScaledObject metric: the label values of its series.
type MetricKey struct{ Namespace, ScaledObject, Metric string }

// PerMetric holds the series of every ScaledObject metric as one collector:
// a ScaledObject metric is one small struct of float64s (~120 B), and its
// series are made only while /metrics is scraped. A GaugeVec child per
// series kept its own label pairs and descriptor state, ~530 B each, six
// per trigger: most of a trigger's heap at 10,000 triggers.
//
// A ScaledObject metric is held by its users (Acquire) and its series go
// when the last one lets go (Release), so two triggers that export the same
// labels share the series and the one that stays keeps them.
type PerMetric struct {
	descs  [numSeries]*prometheus.Desc
	labels [3]string // label names in sorted order: metric, namespace, scaledobject

	mu sync.RWMutex
	m  map[MetricKey]*MetricSeries
}

// MetricSeries is one ScaledObject metric's values. Set is safe for
// concurrent use and does not allocate.
type MetricSeries struct {
	key   MetricKey // immutable: scrapes point into it
	bits  [numSeries]atomic.Uint64
	set   atomic.Uint32 // bit i: series i is exported
	users int           // guarded by PerMetric.mu
}

// Set sets one series (and exports it from then on).
func (s *MetricSeries) Set(which Series, v float64) {
	s.bits[which].Store(math.Float64bits(v))
	if bit := uint32(1) << which; s.set.Load()&bit == 0 {
		s.set.Or(bit)
	}
}

func newPerMetric() *PerMetric {
	so := []string{"namespace", "scaledobject", "metric"}
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, so, nil)
	}
	p := &PerMetric{labels: [3]string{"metric", "namespace", "scaledobject"}, m: map[MetricKey]*MetricSeries{}}
	p.descs = [numSeries]*prometheus.Desc{
		Value:      desc("metric_value", "Last metric value sent to KEDA for a ScaledObject's metric."),
		Target:     desc("metric_target", "Target of a ScaledObject's metric as sent in its metric spec (AverageValue per replica)."),
		SampleAge:  desc("sample_age_seconds", "Age of the upstream sample behind the last value sent for a ScaledObject's metric, when it was sent."),
		Replicas:   desc("desired_replicas", "Replicas the HPA derives from the last value sent (AverageValue, from zero)."),
		Active:     desc("active", "1 when the last activation answer for a ScaledObject's metric was true."),
		LagSeconds: desc("lag_seconds", "Age of the oldest message not yet consumed, for sources that estimate it (Kafka)."),
	}
	return p
}

// Acquire returns k's series, creating them, and counts one more user.
// Label values that are not UTF-8 (which Prometheus refuses) have their
// bad bytes replaced.
func (p *PerMetric) Acquire(k MetricKey) *MetricSeries {
	for _, v := range []*string{&k.Namespace, &k.ScaledObject, &k.Metric} {
		if !utf8.ValidString(*v) {
			*v = strings.ToValidUTF8(*v, "\uFFFD")
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.m[k]
	if s == nil {
		s = &MetricSeries{key: k}
		s.set.Store(initial)
		p.m[k] = s
	}
	s.users++
	return s
}

// Release counts one user fewer; the last one's release removes the series.
func (p *PerMetric) Release(s *MetricSeries) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.users--; s.users <= 0 && p.m[s.key] == s {
		delete(p.m, s.key)
	}
}

// Len is how many ScaledObject metrics are held.
func (p *PerMetric) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.m)
}

// Get returns one series' value and whether it is exported.
func (p *PerMetric) Get(k MetricKey, which Series) (float64, bool) {
	p.mu.RLock()
	s := p.m[k]
	p.mu.RUnlock()
	if s == nil || s.set.Load()&(1<<which) == 0 {
		return 0, false
	}
	return math.Float64frombits(s.bits[which].Load()), true
}

// Describe sends the six descriptors.
func (p *PerMetric) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range p.descs {
		ch <- d
	}
}

// Collect sends every exported series. The map is copied under the read
// lock (one pointer per ScaledObject metric) so that a slow scrape does not
// hold back the first call of a new trigger; each ScaledObject metric then
// costs one allocation holding its label pairs, shared by its series, and
// their values.
func (p *PerMetric) Collect(ch chan<- prometheus.Metric) {
	p.mu.RLock()
	all := make([]*MetricSeries, 0, len(p.m))
	for _, s := range p.m {
		all = append(all, s)
	}
	p.mu.RUnlock()
	for _, s := range all {
		w := &scrape{}
		w.pairs[0] = dto.LabelPair{Name: &p.labels[0], Value: &s.key.Metric}
		w.pairs[1] = dto.LabelPair{Name: &p.labels[1], Value: &s.key.Namespace}
		w.pairs[2] = dto.LabelPair{Name: &p.labels[2], Value: &s.key.ScaledObject}
		for i := range w.pairs {
			w.labels[i] = &w.pairs[i]
		}
		set := s.set.Load()
		for i := range numSeries {
			if set&(1<<i) == 0 {
				continue
			}
			w.vals[i] = math.Float64frombits(s.bits[i].Load())
			w.gauges[i].Value = &w.vals[i]
			w.metrics[i] = gaugeMetric{desc: p.descs[i], labels: w.labels[:], gauge: &w.gauges[i]}
			ch <- &w.metrics[i]
		}
	}
}

// scrape is one ScaledObject metric's series in one scrape.
type scrape struct {
	pairs   [3]dto.LabelPair
	labels  [3]*dto.LabelPair
	vals    [numSeries]float64
	gauges  [numSeries]dto.Gauge
	metrics [numSeries]gaugeMetric
}

// gaugeMetric is a gauge sample whose label pairs (sorted by name, never
// modified: the registry treats them as immutable) are shared with the
// other series of its ScaledObject metric.
type gaugeMetric struct {
	desc   *prometheus.Desc
	labels []*dto.LabelPair
	gauge  *dto.Gauge
}

func (g *gaugeMetric) Desc() *prometheus.Desc { return g.desc }

func (g *gaugeMetric) Write(out *dto.Metric) error {
	out.Label = g.labels
	out.Gauge = g.gauge
	return nil
}
