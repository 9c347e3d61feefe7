package server

import (
	"sync"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/trigger"
)

type gaugeKey struct {
	t     *trigger.Trigger
	owner trigger.Owner
}

// gaugeCache maps (trigger, owner) to the series of its ScaledObject
// metric, resolved once: a lookup by label values on every call hashed
// three strings per series (BenchmarkServiceGetMetrics). Each entry holds
// its series (metrics.PerMetric.Acquire) until forget lets go of them, so
// a swept trigger's series are not brought back through a stale handle,
// and a trigger that exports the same labels keeps them.
type gaugeCache struct {
	per *metrics.PerMetric
	mu  sync.RWMutex
	m   map[gaugeKey]*metrics.MetricSeries
}

func (c *gaugeCache) get(t *trigger.Trigger, o trigger.Owner) *metrics.MetricSeries {
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
	g = c.per.Acquire(metrics.MetricKey{Namespace: o.Namespace, ScaledObject: o.Name, Metric: t.MetricName()})
	c.m[k] = g
	return g
}

// forget lets go of the series of t's owners.
func (c *gaugeCache) forget(t *trigger.Trigger, owners []trigger.Owner) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range owners {
		k := gaugeKey{t, o}
		if g := c.m[k]; g != nil {
			c.per.Release(g)
			delete(c.m, k)
		}
	}
}
