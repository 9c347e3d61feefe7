package workload

import (
	"context"
	"errors"
	"math"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// fake is a source whose metadata is source=fake, queue=<name>,
// target=<float, default 5>, activation=<float>.
type fake struct {
	queue              string
	target, activation float64
}

type fakeQuery string

func (q fakeQuery) Key() string { return "fake/" + string(q) }
func (q fakeQuery) Upstream() sources.Endpoint {
	return sources.Endpoint{Key: "fake", Name: "fake://queues"}
}
func (q fakeQuery) Open() (sources.Upstream, error) { return nil, errors.New("not polled") }

func (f *fake) Query() sources.Query { return fakeQuery(f.queue) }
func (f *fake) MetricName() string   { return "fake-" + f.queue }
func (f *fake) Target() float64      { return f.target }
func (f *fake) Activation() float64  { return f.activation }
func (f *fake) Evaluate(s sources.Sample) sources.Measurement {
	return sources.Measurement{Value: s.Value, Replicas: int64(math.Ceil(s.Value / f.target))}
}

// testRegistry is kafka, redis and the fake source.
func testRegistry() *trigger.Registry {
	r, err := trigger.NewRegistry(
		trigger.Source{Name: "fake", Keys: []string{"queue", "target", "activation"}, Parse: func(md metadata.Metadata) (trigger.Parsed, error) {
			q, err := md.Required("queue")
			if err != nil {
				return nil, err
			}
			f := &fake{queue: q}
			if f.target, err = md.Float("target", 5, true); err != nil {
				return nil, err
			}
			if f.activation, err = md.Float("activation", 0, false); err != nil {
				return nil, err
			}
			return f, nil
		}},
		trigger.Source{Name: "kafka", Keys: kafka.Keys(), Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return kafka.Parse(md) }},
		trigger.Source{Name: "redis", Keys: redis.Keys(), Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return redis.Parse(md) }},
	)
	if err != nil {
		panic(err)
	}
	return r
}

// reader is an engine with no samples: the File never reads.
type reader struct{}

func (reader) Read(context.Context, sources.Query) (sources.Sample, error) {
	return sources.Sample{}, sources.ErrUnavailable
}
func (reader) Watch(sources.Query) (<-chan struct{}, func(), error) {
	return make(chan struct{}), func() {}, nil
}

func newCache(max int) *trigger.Cache {
	return trigger.NewCache(trigger.CacheConfig{Registry: testRegistry(), Reader: reader{}, Max: max})
}
