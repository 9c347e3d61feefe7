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
	lag                                  func() prometheus.Gauge // created on first use, as before
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
	labels := []string{o.Namespace, o.Name, t.MetricName()}
	met := c.met
	g = &ownerGauges{
		value:    met.MetricValue.WithLabelValues(labels...),
		target:   met.Target.WithLabelValues(labels...),
		age:      met.SampleAge.WithLabelValues(labels...),
		replicas: met.Replicas.WithLabelValues(labels...),
		active:   met.Active.WithLabelValues(labels...),
		lag:      sync.OnceValue(func() prometheus.Gauge { return met.LagSeconds.WithLabelValues(labels...) }),
	}
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
