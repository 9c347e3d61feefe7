package builtin

import (
	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// Names are the built-in sources, as `source` and upstream rules name them.
var Names = []string{"kafka", "redis", "inference"}

// Options is what the process gives the built-in sources: the files
// ...File keys may read, the upstreams each source may name, and what it
// lends inference triggers (the push store, Kubernetes discovery). The
// zero Options reads no file and allows every upstream.
type Options struct {
	Files     *metadata.Files
	Upstreams allow.Rules
	Inference inference.Env
}

func (o Options) policy(source string) sources.Policy {
	return sources.Policy{Files: o.Files, Upstreams: o.Upstreams.For(source)}
}

// Registry returns kafka, redis and inference under opts.
func Registry(opts Options) *trigger.Registry {
	kp, rp := opts.policy("kafka"), opts.policy("redis")
	env := opts.Inference
	env.Policy = opts.policy("inference")
	r, err := trigger.NewRegistry(
		trigger.Source{Name: "kafka", Keys: kafka.Keys(),
			Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return kafka.Parse(md, kp) }},
		trigger.Source{Name: "redis", Keys: redis.Keys(),
			Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return redis.Parse(md, rp) }},
		trigger.Source{Name: "inference", Keys: inference.Keys(),
			Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return inference.Parse(md, env) }},
	)
	if err != nil {
		panic(err) // three fixed, distinct names: cannot happen
	}
	return r
}
