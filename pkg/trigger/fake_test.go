package trigger

import (
	"context"
	"errors"
	"sync"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// queue is a fake source: `queue` names a queue whose depth the test sets,
// `target` and `activation` are its thresholds, `window` decides a replica
// count (and so needs metricMode: replicas).
type queue struct {
	name               string
	target, activation float64
	window             string
}

func (q *queue) Query() sources.Query { return queueQuery(q.name) }
func (q *queue) MetricName() string   { return "queue-" + q.name }
func (q *queue) Target() float64      { return q.target }
func (q *queue) Activation() float64  { return q.activation }
func (q *queue) NeedsReplicasMode() (string, string) {
	if q.window != "" {
		return "window", "raw mode divides the depth by target"
	}
	return "", ""
}
func (q *queue) Evaluate(s sources.Sample) sources.Measurement {
	return sources.Measurement{Value: s.Value, Replicas: hpa.FromZero(s.Value, q.target)}
}

type queueQuery string

func (q queueQuery) Key() string { return "queue/" + string(q) }
func (q queueQuery) Upstream() sources.Endpoint {
	return sources.Endpoint{Key: "queue", Name: "queue://fake"}
}
func (q queueQuery) Open() (sources.Upstream, error) { return nil, errors.New("not used") }

func queueSource() Source {
	return Source{Name: "queue", Keys: []string{"queue", "target", "activation", "window", "password", "passwordFile"},
		Parse: func(md metadata.Metadata) (Parsed, error) {
			name, err := md.Required("queue")
			if err != nil {
				return nil, err
			}
			q := &queue{name: name, window: md.String("window", "")}
			if q.target, err = md.Float("target", 5, true); err != nil {
				return nil, err
			}
			if q.activation, err = md.Float("activation", 0, false); err != nil {
				return nil, err
			}
			return q, nil
		}}
}

func registry() *Registry {
	r, err := NewRegistry(queueSource())
	if err != nil {
		panic(err)
	}
	return r
}

// reader is a fake engine: one sample per queue, and watchers told on set.
type reader struct {
	mu       sync.Mutex
	samples  map[string]sources.Sample
	err      error
	watchers map[string][]chan struct{}
}

func newReader() *reader {
	return &reader{samples: map[string]sources.Sample{}, watchers: map[string][]chan struct{}{}}
}

func (r *reader) set(q string, s sources.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples["queue/"+q] = s
	for _, w := range r.watchers["queue/"+q] {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func (r *reader) Read(_ context.Context, q sources.Query) (sources.Sample, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return sources.Sample{}, r.err
	}
	return r.samples[q.Key()], nil
}

func (r *reader) Watch(q sources.Query) (<-chan struct{}, func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan struct{}, 1)
	r.watchers[q.Key()] = append(r.watchers[q.Key()], ch)
	return ch, func() {}, nil
}

func (r *reader) watching(q string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.watchers["queue/"+q])
}
