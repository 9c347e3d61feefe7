package workload

import (
	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// testRegistry is kafka, redis and the fake source (testqueue's: source=fake,
// queue=<name>, target=<float, default 5>, activation=<float>).
func testRegistry() *trigger.Registry {
	return testqueue.Registry(
		trigger.Source{Name: "kafka", Keys: kafka.Keys(), Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return kafka.Parse(md, sources.Policy{}) }},
		trigger.Source{Name: "redis", Keys: redis.Keys(), Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return redis.Parse(md, sources.Policy{}) }},
	)
}

// newCache reads an engine with no samples: the File never reads.
func newCache(max int) *trigger.Cache {
	return trigger.NewCache(trigger.CacheConfig{Registry: testRegistry(), Reader: testqueue.NewReader(), Max: max})
}
