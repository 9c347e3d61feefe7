package server

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// ownerGauges are the series of one ScaledObject's metric, resolved once:
// looking six series up by label values on every call hashed three
// strings into maps of 10,000 series six times, half of the handler's
// time at 10,000 triggers (BenchmarkServiceGetMetrics).
type ownerGauges struct {
	value, target, age, replicas, active prometheus.Gauge
	// The lag series is created on first use, as before: most triggers
	// have no Flow.
	lagOnce sync.Once
	lagVec  *prometheus.GaugeVec
	lagG    prometheus.Gauge
	labels  [3]string
}

func (g *ownerGauges) lag() prometheus.Gauge {
	g.lagOnce.Do(func() { g.lagG = g.lagVec.WithLabelValues(g.labels[:]...) })
	return g.lagG
}

type gaugeKey struct {
	t     *trigger.Trigger
	owner trigger.Owner
}

// gaugeCache maps (trigger, owner) to its series. Entries go with the
// trigger's series (forget), so a swept trigger's series are not brought
// back through a stale handle.
type gaugeCache struct {
	met *metrics.Metrics
	mu  sync.RWMutex
	m   map[gaugeKey]*ownerGauges
}

func (c *gaugeCache) get(t *trigger.Trigger, o trigger.Owner) *ownerGauges {
	k := gaugeKey{t, o}
	c.mu.RLock()
	g := c.m[k]
	c.mu.RUnlock()
	if g != nil {
		return g
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g = c.m[k]; g != nil {
		return g
	}
	met := c.met
	g = &ownerGauges{lagVec: met.LagSeconds, labels: [3]string{o.Namespace, o.Name, t.MetricName()}}
	labels := g.labels[:]
	g.value = met.MetricValue.WithLabelValues(labels...)
	g.target = met.Target.WithLabelValues(labels...)
	g.age = met.SampleAge.WithLabelValues(labels...)
	g.replicas = met.Replicas.WithLabelValues(labels...)
	g.active = met.Active.WithLabelValues(labels...)
	c.m[k] = g
	return g
}

// forget drops the handles of t's owners.
func (c *gaugeCache) forget(t *trigger.Trigger, owners []trigger.Owner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range owners {
		delete(c.m, gaugeKey{t, o})
	}
}
