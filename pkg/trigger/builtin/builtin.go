package builtin

import (
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// Registry returns kafka, redis and inference; env is what the process
// lends inference triggers (the push store, Kubernetes discovery).
func Registry(env inference.Env) *trigger.Registry {
	r, err := trigger.NewRegistry(
		trigger.Source{Name: "kafka", Keys: kafka.Keys(),
			Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return kafka.Parse(md) }},
		trigger.Source{Name: "redis", Keys: redis.Keys(),
			Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return redis.Parse(md) }},
		trigger.Source{Name: "inference", Keys: inference.Keys(),
			Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return inference.Parse(md, env) }},
	)
	if err != nil {
		panic(err) // three fixed, distinct names: cannot happen
	}
	return r
}
