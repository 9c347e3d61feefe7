package testqueue

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// Query is the engine query of the queue it names.
type Query string

// Key is "fake/<queue>".
func (q Query) Key() string { return "fake/" + string(q) }

// Upstream is the one fake upstream every queue shares.
func (q Query) Upstream() sources.Endpoint {
	return sources.Endpoint{Key: "fake", Name: "fake://queues"}
}

// Open fails: a Reader answers reads, no engine polls.
func (q Query) Open() (sources.Upstream, error) { return nil, errors.New("not polled") }

// Option configures a Source.
type Option func(*queue)

// MetricName sets the metric-name scheme: name(queue) is the trigger's
// default metric name. The default is "fake-<queue>".
func MetricName(name func(queue string) string) Option {
	return func(q *queue) { q.metricName = name }
}

// Source is the fake source, selected by source=fake. Its metadata:
// queue=<name> (required), target=<float, default 5>, activation=<float,
// default 0>. Its demand is the sample's value, capped at Capacity x
// target when the sample has a Capacity (like Kafka's partition cap), and
// its replicas ceil(value/target).
func Source(opts ...Option) trigger.Source {
	return trigger.Source{Name: "fake", Keys: []string{"queue", "target", "activation"},
		Parse: func(md metadata.Metadata) (trigger.Parsed, error) {
			name, err := md.Required("queue")
			if err != nil {
				return nil, err
			}
			q := &queue{name: name, metricName: func(queue string) string { return "fake-" + queue }}
			for _, o := range opts {
				o(q)
			}
			if q.target, err = md.Float("target", 5, true); err != nil {
				return nil, err
			}
			if q.activation, err = md.Float("activation", 0, false); err != nil {
				return nil, err
			}
			return q, nil
		}}
}

// Registry is the default fake Source and extra.
func Registry(extra ...trigger.Source) *trigger.Registry {
	r, err := trigger.NewRegistry(append([]trigger.Source{Source()}, extra...)...)
	if err != nil {
		panic(err)
	}
	return r
}

// queue is a parsed fake trigger.
type queue struct {
	name               string
	metricName         func(queue string) string
	target, activation float64
}

func (q *queue) Query() sources.Query { return Query(q.name) }
func (q *queue) MetricName() string   { return q.metricName(q.name) }
func (q *queue) Target() float64      { return q.target }
func (q *queue) Activation() float64  { return q.activation }
func (q *queue) Evaluate(s sources.Sample) sources.Measurement {
	v := s.Value
	if s.Capacity > 0 {
		v = min(v, float64(s.Capacity)*q.target)
	}
	return sources.Measurement{Value: v, Replicas: int64(math.Ceil(v / q.target))}
}

// Reader is a fake engine (a trigger.Reader): the latest sample or error
// of each queue, as the test sets them, and how many reads it answered.
// Its watches never fire.
type Reader struct {
	mu      sync.Mutex
	samples map[string]sources.Sample
	errs    map[string]error
	reads   int
}

// NewReader is a Reader with no samples: every read is not found.
func NewReader() *Reader {
	return &Reader{samples: map[string]sources.Sample{}, errs: map[string]error{}}
}

// Set serves s for queue, replacing any error.
func (r *Reader) Set(queue string, s sources.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[queue] = s
	delete(r.errs, queue)
}

// SetDemand serves a sample of value and activity v taken at at.
func (r *Reader) SetDemand(queue string, at time.Time, v float64) {
	r.Set(queue, sources.Sample{Time: at, Value: v, Activity: v})
}

// Fail answers reads of queue with err until the next Set.
func (r *Reader) Fail(queue string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[queue] = err
}

// Reads is how many reads the Reader answered.
func (r *Reader) Reads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reads
}

// Read answers q, a Query, with its queue's error, sample, or a wrapped
// sources.ErrNotFound.
func (r *Reader) Read(_ context.Context, q sources.Query) (sources.Sample, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	name := string(q.(Query))
	if err := r.errs[name]; err != nil {
		return sources.Sample{}, err
	}
	s, ok := r.samples[name]
	if !ok {
		return sources.Sample{}, fmt.Errorf("queue %q: %w", name, sources.ErrNotFound)
	}
	return s, nil
}

// Watch returns a channel that never fires.
func (r *Reader) Watch(sources.Query) (<-chan struct{}, func(), error) {
	return make(chan struct{}), func() {}, nil
}
