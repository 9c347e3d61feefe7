package server

import (
	"fmt"
	"hash/maphash"
	"maps"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/strategy"
)

// Trigger is a parsed trigger: what to read and how to turn the reading into
// the metric KEDA asks for. Source packages implement it.
type Trigger interface {
	Query() sources.Query
	// MetricName is the source's default metric name.
	MetricName() string
	// Target is the per-replica AverageValue target in raw mode.
	Target() float64
	// Activation is the source's activation threshold: active when the
	// sample's Activity is above it.
	Activation() float64
	// Evaluate turns a sample into a metric value and an activation answer.
	Evaluate(s sources.Sample) sources.Measurement
}

// Parser builds a Trigger from the metadata of one source kind.
type Parser func(md sources.Metadata) (Trigger, error)

// DefaultParsers returns the parsers of every built-in source, by the value
// of the `source` metadata key.
func DefaultParsers() map[string]Parser {
	return map[string]Parser{
		"kafka": func(md sources.Metadata) (Trigger, error) { return kafka.Parse(md) },
		"redis": func(md sources.Metadata) (Trigger, error) { return redis.Parse(md) },

		// Without a push store or discovery; the process replaces it with
		// InferenceParser(env) to lend them.
		"inference": InferenceParser(inference.Env{}),
	}
}

// InferenceParser parses `source: inference` triggers with what the
// process lends them: the push store behind POST /v1/push and Kubernetes
// discovery.
func InferenceParser(env inference.Env) Parser {
	return func(md sources.Metadata) (Trigger, error) { return inference.Parse(md, env) }
}

// Limits on what one request may carry, checked before anything is parsed
// or stored, so a hostile or broken client cannot make the server hold
// unbounded memory.
const (
	maxMetadataKeys  = 128
	maxMetadataBytes = 64 << 10
)

var metricNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,198}[a-zA-Z0-9])?$`)

// parsed is a trigger with the server-level keys applied.
type parsed struct {
	Trigger
	name     string // metric name, after the metricName override
	md       sources.Metadata
	opts     strategy.Options
	lastUsed atomic.Int64

	// latch is the activation state. With hysteresis it depends on every
	// sample, so a follower goroutine steps it on each cache update
	// (started once, stopped by done when the trigger is swept).
	latch  strategy.Latch
	follow sync.Once
	done   chan struct{}

	mu     sync.Mutex
	owners map[[2]string]struct{} // namespace/name of ScaledObjects that used it, for metric cleanup
}

// own records that a ScaledObject uses the trigger; it reports whether this
// is the first time.
func (p *parsed) own(namespace, name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := [2]string{namespace, name}
	if _, ok := p.owners[k]; ok {
		return false
	}
	if p.owners == nil {
		p.owners = map[[2]string]struct{}{}
	}
	p.owners[k] = struct{}{}
	return true
}

// triggerCache parses each distinct scalerMetadata once. KEDA sends the same
// map on every call, so the hot path is a hash, an equality check and a map
// lookup.
type triggerCache struct {
	parsers map[string]Parser
	seed    maphash.Seed
	max     int
	size    interface{ Set(float64) } // the triggers gauge; may be nil

	mu sync.RWMutex
	m  map[uint64][]*parsed
	n  int
}

func newTriggerCache(parsers map[string]Parser, max int) *triggerCache {
	return &triggerCache{parsers: parsers, seed: maphash.MakeSeed(), max: max, m: map[uint64][]*parsed{}}
}

// get returns the parsed trigger for md, parsing it on first sight.
func (c *triggerCache) get(md map[string]string, now time.Time) (*parsed, error) {
	if len(md) > maxMetadataKeys {
		return nil, &limitError{fmt.Sprintf("scalerMetadata has %d keys, more than the limit of %d", len(md), maxMetadataKeys)}
	}
	h, size := c.hash(md)
	if size > maxMetadataBytes {
		return nil, &limitError{fmt.Sprintf("scalerMetadata is %d bytes, more than the limit of %d", size, maxMetadataBytes)}
	}
	c.mu.RLock()
	p := c.find(h, md)
	c.mu.RUnlock()
	if p != nil {
		p.lastUsed.Store(now.UnixNano())
		return p, nil
	}

	p, err := c.parse(md)
	if err != nil {
		return nil, err // invalid metadata is not cached: it cannot grow the cache
	}
	p.lastUsed.Store(now.UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.find(h, md); q != nil {
		return q, nil
	}
	if c.max > 0 && c.n >= c.max {
		return nil, &limitError{fmt.Sprintf("the scaler already holds %d triggers, its limit", c.n)}
	}
	c.m[h] = append(c.m[h], p)
	c.n++
	if c.size != nil {
		c.size.Set(float64(c.n))
	}
	return p, nil
}

func (c *triggerCache) find(h uint64, md map[string]string) *parsed {
	for _, p := range c.m[h] {
		if maps.Equal(p.md, md) {
			return p
		}
	}
	return nil
}

// hash is order-independent over the map's pairs; it also returns the
// metadata's size in bytes.
func (c *triggerCache) hash(md map[string]string) (uint64, int) {
	var sum uint64
	size := 0
	for k, v := range md {
		var h maphash.Hash
		h.SetSeed(c.seed)
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
		size += len(k) + len(v)
	}
	return sum, size
}

func (c *triggerCache) parse(raw map[string]string) (*parsed, error) {
	md := sources.Metadata(maps.Clone(raw))
	src, err := md.Required("source")
	if err != nil {
		return nil, err
	}
	parse, ok := c.parsers[src]
	if !ok {
		return nil, sources.Invalid("source", src, "unknown source; want one of %v", slices.Sorted(maps.Keys(c.parsers)))
	}
	t, err := parse(md)
	if err != nil {
		return nil, err
	}
	name := t.MetricName()
	if md.Has("metricName") {
		name = md.String("metricName", "")
		if !metricNameRE.MatchString(name) {
			return nil, sources.Invalid("metricName", name,
				"want 1-200 characters of letters, digits, '.', '_' or '-', starting and ending with a letter or digit")
		}
	}
	opts, err := strategy.Parse(md, t.Activation())
	if err != nil {
		return nil, err
	}
	return &parsed{Trigger: t, name: name, md: md, opts: opts, done: make(chan struct{})}, nil
}

// decide evaluates a sample: the source's measurement with the activation
// answer from the latch.
func (p *parsed) decide(s sources.Sample) sources.Measurement {
	m := p.Evaluate(s)
	m.Active = p.latch.Step(p.opts.Activation, s.Time, s.Activity)
	return m
}

// value and target are what KEDA receives, by metricMode.
func (p *parsed) value(m sources.Measurement) float64 { return p.opts.Value(m) }
func (p *parsed) target() float64                     { return p.opts.Target(p.Target()) }

// sweep drops triggers unused since before, calling forget for each; it
// returns how many remain.
func (c *triggerCache) sweep(before time.Time, forget func(*parsed)) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, ps := range c.m {
		ps = slices.DeleteFunc(ps, func(p *parsed) bool {
			if p.lastUsed.Load() >= before.UnixNano() {
				return false
			}
			forget(p)
			close(p.done)
			return true
		})
		if len(ps) == 0 {
			delete(c.m, h)
		} else {
			c.m[h] = ps
		}
	}
	c.n = 0
	for _, ps := range c.m {
		c.n += len(ps)
	}
	return c.n
}
