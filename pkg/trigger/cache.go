package trigger

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// Reader is what the trigger core needs of the engine.
type Reader interface {
	Read(ctx context.Context, q sources.Query) (sources.Sample, error)
	Watch(q sources.Query) (updates <-chan struct{}, stop func(), err error)
}

// CacheConfig configures a Cache. Registry and Reader are required.
type CacheConfig struct {
	Registry *Registry
	Reader   Reader
	// Max bounds the triggers held at once (0: unbounded); one more is a
	// *LimitError.
	Max int
	// Size, when set, is told the number of triggers held after each change
	// (the triggers gauge).
	Size interface{ Set(float64) }
	// Logger receives a warning when a stateful trigger cannot be followed.
	Logger *slog.Logger
}

// Cache holds one Trigger per distinct metadata, whichever face asks, so
// that faces share activation state. KEDA sends the same map on every call,
// so the hot path is a hash, an equality check and a map lookup.
type Cache struct {
	cfg  CacheConfig
	seed maphash.Seed

	// ctx ends the followers (Close).
	ctx       context.Context
	cancel    context.CancelFunc
	followers sync.WaitGroup

	mu sync.RWMutex
	m  map[uint64][]*Trigger
	n  int
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Cache{cfg: cfg, seed: maphash.MakeSeed(), ctx: ctx, cancel: cancel, m: map[uint64][]*Trigger{}}
}

// Get returns the trigger for md, parsing it on first sight, and marks it
// used at now. Invalid metadata is not cached: it cannot grow the cache.
func (c *Cache) Get(md map[string]string, now time.Time) (*Trigger, error) {
	return c.get(md, now, false)
}

// Hold is Get for a trigger that must stay until release is called (a
// trigger of the standalone configuration), however long nobody asks.
func (c *Cache) Hold(md map[string]string, now time.Time) (t *Trigger, release func(), err error) {
	if t, err = c.get(md, now, true); err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return t, func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			t.holds--
		})
	}, nil
}

func (c *Cache) get(md map[string]string, now time.Time, hold bool) (*Trigger, error) {
	h, err := c.hash(md)
	if err != nil {
		return nil, err
	}
	var t *Trigger
	if !hold {
		c.mu.RLock()
		t = c.find(h, md)
		c.mu.RUnlock()
	}
	if t == nil {
		var err error
		if t, err = c.add(h, md, hold); err != nil {
			return nil, err
		}
	}
	t.lastUsed.Store(now.UnixNano())
	if t.opts.Activation.Stateful() {
		t.follow.Do(func() { c.startFollower(t) })
	}
	return t, nil
}

// add parses md (outside the lock: parsing may read files) and inserts the
// trigger unless an equal one got there first; with hold it pins the one it
// returns under the same lock, so that a sweep cannot drop it in between.
func (c *Cache) add(h uint64, md map[string]string, hold bool) (*Trigger, error) {
	parsed, err := c.cfg.Registry.Parse(md)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.find(h, md)
	if t == nil {
		if c.cfg.Max > 0 && c.n >= c.cfg.Max {
			return nil, &LimitError{fmt.Sprintf("the scaler already holds %d triggers, its limit", c.n)}
		}
		t = parsed
		if t.opts.Activation.Stateful() { // only a follower waits on done
			t.done = make(chan struct{})
		}
		c.m[h] = append(c.m[h], t)
		c.n++
		c.setSize()
	}
	if hold {
		t.holds++
	}
	return t, nil
}

// Touch marks t used at now, as an open stream does.
func (c *Cache) Touch(t *Trigger, now time.Time) { t.lastUsed.Store(now.UnixNano()) }

// Read reads t's latest sample through the engine and evaluates it. A
// failed read is returned as it is (it names the upstream), never a zero.
func (c *Cache) Read(ctx context.Context, t *Trigger) (Reading, error) {
	s, err := c.cfg.Reader.Read(ctx, t.Query())
	if err != nil {
		return Reading{}, err
	}
	return t.Evaluate(s), nil
}

// Watch tells when t's sample changes (see sources.Engine.Watch).
func (c *Cache) Watch(t *Trigger) (<-chan struct{}, func(), error) {
	return c.cfg.Reader.Watch(t.Query())
}

func (c *Cache) find(h uint64, md map[string]string) *Trigger {
	for _, t := range c.m[h] {
		if maps.Equal(t.md, md) {
			return t
		}
	}
	return nil
}

// hash is order-independent over the map's pairs. In the same pass it
// applies Parse's limits, so that metadata over them is refused before it
// is hashed in full or looked up.
func (c *Cache) hash(md map[string]string) (uint64, error) {
	if len(md) > MaxMetadataKeys {
		return 0, checkLimits(md)
	}
	var sum uint64
	size := 0
	for k, v := range md {
		if size += len(k) + len(v); size > MaxMetadataBytes {
			return 0, checkLimits(md)
		}
		var h maphash.Hash
		h.SetSeed(c.seed)
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		sum += h.Sum64()
	}
	return sum, nil
}

// startFollower steps a stateful trigger's latch on every new sample of its
// query, so that hysteresis and the minimum active time see the upstream's
// whole history rather than the samples faces happen to ask about. Without
// it, two scaler replicas behind KEDA's round-robin could answer
// differently for the same ScaledObject.
func (c *Cache) startFollower(t *Trigger) {
	updates, stop, err := c.cfg.Reader.Watch(t.Query())
	if err != nil {
		// Faces still step the latch; only the samples between them are missed.
		c.cfg.Logger.Warn("cannot follow trigger; activation sees only the samples that are asked about",
			"metric", t.name, "err", err)
		return
	}
	c.followers.Go(func() {
		defer stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.done:
				return
			case <-updates:
				if s, err := c.cfg.Reader.Read(c.ctx, t.Query()); err == nil {
					t.Observe(s)
				}
			}
		}
	})
}

// Sweep drops the triggers not held and unused since before, calling forget
// for each; it returns how many remain.
func (c *Cache) Sweep(before time.Time, forget func(*Trigger)) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for h, ts := range c.m {
		ts = slices.DeleteFunc(ts, func(t *Trigger) bool {
			if t.holds > 0 || t.lastUsed.Load() >= before.UnixNano() {
				return false
			}
			if forget != nil {
				forget(t)
			}
			if t.done != nil {
				close(t.done)
			}
			c.n--
			return true
		})
		if len(ts) == 0 {
			delete(c.m, h)
		} else {
			c.m[h] = ts
		}
	}
	c.setSize()
	return c.n
}

// Triggers are the triggers held now, in no order; listing them marks none
// used.
func (c *Cache) Triggers() []*Trigger {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Trigger, 0, c.n)
	for _, ts := range c.m {
		out = append(out, ts...)
	}
	return out
}

// Len is the number of triggers held.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}

func (c *Cache) setSize() {
	if c.cfg.Size != nil {
		c.cfg.Size.Set(float64(c.n))
	}
}

// Close stops the followers and waits for them.
func (c *Cache) Close() {
	c.cancel()
	c.followers.Wait()
}
