package externalmetrics

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// fakeReader is a trigger.Reader whose samples (or errors) the test sets
// per queue name. Metadata of its source: source=fake, queue=<name>,
// target=<float, default 5>, activation=<float>.
type fakeReader struct {
	mu      sync.Mutex
	samples map[string]sources.Sample
	errs    map[string]error
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
	name := string(q.(fakeQuery))
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

type fakeQuery string

func (q fakeQuery) Key() string { return "fake/" + string(q) }
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
func (t *fakeTrigger) MetricName() string   { return "fake-" + string(t.q) }
func (t *fakeTrigger) Target() float64      { return t.target }
func (t *fakeTrigger) Activation() float64  { return t.activation }
func (t *fakeTrigger) Evaluate(s sources.Sample) sources.Measurement {
	v := s.Value
	if s.Capacity > 0 {
		v = min(v, float64(s.Capacity)*t.target)
	}
	return sources.Measurement{Value: v, Replicas: int64(math.Ceil(v / t.target))}
}

func fakeParse(md metadata.Metadata) (trigger.Parsed, error) {
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
	return &fakeTrigger{q: fakeQuery(name), target: target, activation: act}, nil
}

// newCache is a trigger cache over r with the fake source and redis.
func newCache(t *testing.T, r trigger.Reader) *trigger.Cache {
	t.Helper()
	reg, err := trigger.NewRegistry(
		trigger.Source{Name: "fake", Keys: []string{"queue", "target", "activation"}, Parse: fakeParse},
		trigger.Source{Name: "redis", Keys: redis.Keys(), Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return redis.Parse(md) }},
	)
	if err != nil {
		t.Fatal(err)
	}
	c := trigger.NewCache(trigger.CacheConfig{Registry: reg, Reader: r})
	t.Cleanup(c.Close)
	return c
}

// openWorkloads writes yaml to a file and opens it with cache.
func openWorkloads(t *testing.T, yaml string, cache *trigger.Cache) *workload.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "workloads.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := workload.Open(path, cache, workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// syncBuffer is a log sink safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
