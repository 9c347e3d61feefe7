package status

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// queue is a fake source: `queue` names a queue, `target` its per-replica
// target; `upstream` is the upstream's loggable name.
type queue struct {
	name, upstream string
	target         float64
}

func (q *queue) Query() sources.Query { return queueQuery{q.name, q.upstream} }
func (q *queue) MetricName() string   { return "queue-" + q.name }
func (q *queue) Target() float64      { return q.target }
func (q *queue) Activation() float64  { return 0 }
func (q *queue) Evaluate(s sources.Sample) sources.Measurement {
	m := sources.Measurement{Value: s.Value, Replicas: hpa.FromZero(s.Value, q.target)}
	if m.Replicas > 4 {
		m.Replicas, m.Rule = 4, "QueueCapped"
	}
	return m
}

type queueQuery struct{ name, upstream string }

func (q queueQuery) Key() string { return "queue/" + q.name }
func (q queueQuery) Upstream() sources.Endpoint {
	return sources.Endpoint{Key: q.upstream, Name: q.upstream}
}
func (q queueQuery) Open() (sources.Upstream, error) { return nil, errors.New("not used") }

func registry(t testing.TB) *trigger.Registry {
	r, err := trigger.NewRegistry(trigger.Source{Name: "queue", Keys: []string{"queue", "target", "upstream"},
		Parse: func(md metadata.Metadata) (trigger.Parsed, error) {
			name, err := md.Required("queue")
			if err != nil {
				return nil, err
			}
			q := &queue{name: name, upstream: md.String("upstream", "mem://queues")}
			q.target, err = md.Float("target", 5, true)
			return q, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// engine is a fake engine: Peek answers from a map the test sets; Read
// and Watch are the trigger cache's, unused here.
type engine struct {
	mu     sync.Mutex
	peeked map[string]sources.Peeked
}

func (e *engine) set(queue string, p sources.Peeked) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.peeked["queue/"+queue] = p
}

func (e *engine) Peek(q sources.Query) (sources.Peeked, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, ok := e.peeked[q.Key()]
	return p, ok
}

func (e *engine) Read(context.Context, sources.Query) (sources.Sample, error) {
	return sources.Sample{}, errors.New("not used")
}

func (e *engine) Watch(sources.Query) (<-chan struct{}, func(), error) {
	return nil, nil, errors.New("not used")
}

type fixture struct {
	eng   *engine
	cache *trigger.Cache
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{eng: &engine{peeked: map[string]sources.Peeked{}}}
	f.cache = trigger.NewCache(trigger.CacheConfig{Registry: registry(t), Reader: f.eng})
	t.Cleanup(f.cache.Close)
	return f
}

// add holds a trigger of md owned by the owners given as namespace, name
// pairs.
func (f *fixture) add(t *testing.T, md map[string]string, owners ...string) *trigger.Trigger {
	t.Helper()
	tr, err := f.cache.Get(md, t0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(owners); i += 2 {
		tr.Own(trigger.Owner{Namespace: owners[i], Name: owners[i+1]})
	}
	return tr
}
