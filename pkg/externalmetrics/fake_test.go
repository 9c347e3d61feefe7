package externalmetrics

import (
	"context"
	"fmt"
	"math"
	"sync"

	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
)

// fakeReader is a server.Reader whose samples (or errors) the test sets
// per queue name. Metadata of its source: source=fake, queue=<name>,
// target=<float, default 5>, activation=<float>.
type fakeReader struct {
	mu      sync.Mutex
	samples map[string]sources.Sample
	errs    map[string]error
	reads   int
}

func newFakeReader() *fakeReader {
	return &fakeReader{samples: map[string]sources.Sample{}, errs: map[string]error{}}
}

func (r *fakeReader) set(queue string, s sources.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples[queue] = s
	delete(r.errs, queue)
}

func (r *fakeReader) fail(queue string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[queue] = err
}

func (r *fakeReader) Read(_ context.Context, q sources.Query) (sources.Sample, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reads++
	name := q.(fakeQuery).queue
	if err := r.errs[name]; err != nil {
		return sources.Sample{}, err
	}
	s, ok := r.samples[name]
	if !ok {
		return sources.Sample{}, fmt.Errorf("queue %q: %w", name, sources.ErrNotFound)
	}
	return s, nil
}

func (r *fakeReader) Watch(sources.Query) (<-chan struct{}, func(), error) {
	return make(chan struct{}), func() {}, nil
}

type fakeQuery struct{ queue string }

func (q fakeQuery) Key() string { return "fake/" + q.queue }
func (q fakeQuery) Upstream() sources.Endpoint {
	return sources.Endpoint{Key: "fake", Name: "fake://queues"}
}
func (q fakeQuery) Open() (sources.Upstream, error) { return nil, fmt.Errorf("not polled") }

// fakeTrigger caps the value at Capacity x target, like Kafka's partition
// cap, so raw and replicas mode differ in an interesting way.
type fakeTrigger struct {
	q                  fakeQuery
	target, activation float64
}

func (t *fakeTrigger) Query() sources.Query { return t.q }
func (t *fakeTrigger) MetricName() string   { return "fake-" + t.q.queue }
func (t *fakeTrigger) Target() float64      { return t.target }
func (t *fakeTrigger) Activation() float64  { return t.activation }
func (t *fakeTrigger) Evaluate(s sources.Sample) sources.Measurement {
	v := s.Value
	if s.Capacity > 0 {
		v = min(v, float64(s.Capacity)*t.target)
	}
	return sources.Measurement{Value: v, Replicas: int64(math.Ceil(v / t.target))}
}

func fakeParser(md sources.Metadata) (server.Trigger, error) {
	name, err := md.Required("queue")
	if err != nil {
		return nil, err
	}
	target, err := md.Float("target", 5, true)
	if err != nil {
		return nil, err
	}
	act, err := md.Float("activation", 0, false)
	if err != nil {
		return nil, err
	}
	return &fakeTrigger{q: fakeQuery{name}, target: target, activation: act}, nil
}

// testParsers are the built-in parsers plus the fake source.
func testParsers() map[string]server.Parser {
	p := server.DefaultParsers()
	p["fake"] = fakeParser
	return p
}
