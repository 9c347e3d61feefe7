package sources

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tide-scaler/tide/pkg/metrics"
)

// Options configure an Engine. Zero values take the defaults noted.
type Options struct {
	// PollInterval is how often each upstream is polled (default 2 s).
	PollInterval time.Duration
	// ProbeInterval, when positive and shorter than an upstream's poll
	// interval, probes that upstream's inactive queries this often if it
	// is a Prober, and polls the ones the probe wakes at once. 0 disables.
	ProbeInterval time.Duration
	// IdlePollInterval, when positive and probing is on, is how often a
	// query whose probes find it Quiet (no activity at its last poll, none
	// since) is still polled in full; between, each Quiet probe restamps
	// its sample. 0 polls every query at every poll interval.
	IdlePollInterval time.Duration
	// PollTimeout bounds one poll (default PollInterval).
	PollTimeout time.Duration
	// FirstSampleTimeout bounds the synchronous first sample of a query
	// nobody asked about before (default 2 s).
	FirstSampleTimeout time.Duration
	// MaxStaleness is how long the last good sample may still be served
	// after a poll of its query failed. 0 (the default) makes a failed poll
	// an error at once.
	MaxStaleness time.Duration
	// IdleTTL drops queries nobody read or watched for this long (default
	// 10 min); an upstream with no queries left is closed.
	IdleTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics receives poll telemetry (required).
	Metrics *metrics.Metrics
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = 2 * time.Second
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = o.PollInterval
	}
	if o.FirstSampleTimeout <= 0 {
		o.FirstSampleTimeout = 2 * time.Second
	}
	if o.IdleTTL <= 0 {
		o.IdleTTL = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// staleAfter is the age past which a sample is not served even when no poll
// has failed: the poll loop for it is stuck (an upstream ignoring its
// deadline), so the value is no longer being checked.
// The extra second keeps a loaded machine's scheduling jitter from
// reading as a stall at sub-second intervals.
func (o *Options) staleAfter(u *upstream) time.Duration {
	return max(o.MaxStaleness, 2*u.interval()+u.timeout()+time.Second)
}

// Engine polls upstreams in the background and serves the latest sample of
// each query from its cache.
type Engine struct {
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.RWMutex
	upstreams map[string]*upstream
	closed    bool
}

// NewEngine returns an engine; Close stops it.
func NewEngine(opts Options) *Engine {
	opts.defaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{opts: opts, ctx: ctx, cancel: cancel, upstreams: map[string]*upstream{}}
}

// Close stops every poll loop and closes every upstream.
func (e *Engine) Close() error {
	e.mu.Lock()
	e.closed = true
	ups := e.upstreams
	e.upstreams = map[string]*upstream{}
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	var errs []error
	for _, u := range ups {
		errs = append(errs, u.up.Close())
	}
	return errors.Join(errs...)
}

// Read returns the latest sample of q. A query seen for the first time is
// sampled synchronously (at most FirstSampleTimeout, shared by concurrent
// callers) and then joins the background schedule. A failed or stale
// reading is an error naming the upstream, never a zero sample.
func (e *Engine) Read(ctx context.Context, q Query) (Sample, error) {
	ent, u, err := e.entryFor(q)
	if err != nil {
		return Sample{}, err
	}
	now := e.opts.Now()
	ent.lastUsed.Store(now.UnixNano())
	if st := ent.state.Load(); st != nil {
		return e.answer(u, st, now)
	}
	u.startFirst(ent)
	select {
	case <-ent.ready:
		return e.answer(u, ent.state.Load(), e.opts.Now())
	case <-ctx.Done():
		return Sample{}, fmt.Errorf("%s: waiting for the first sample: %w: %w", u.ep.Name, ErrUnavailable, ctx.Err())
	}
}

// Watch registers q like Read (without waiting for a sample) and returns a
// channel that receives a signal after every poll result for q. A watched
// query is never dropped as idle. stop unregisters the watcher.
func (e *Engine) Watch(q Query) (updates <-chan struct{}, stop func(), err error) {
	ent, u, err := e.entryFor(q)
	if err != nil {
		return nil, nil, err
	}
	ch := make(chan struct{}, 1)
	ent.mu.Lock()
	ent.watchers[ch] = struct{}{}
	ent.mu.Unlock()
	if ent.state.Load() == nil {
		u.startFirst(ent)
	}
	return ch, func() {
		ent.mu.Lock()
		delete(ent.watchers, ch)
		ent.mu.Unlock()
		ent.lastUsed.Store(e.opts.Now().UnixNano())
	}, nil
}

// Stats counts what the engine holds, for tests and telemetry.
type Stats struct{ Upstreams, Queries int }

// Stats returns current counts.
func (e *Engine) Stats() Stats {
	e.mu.RLock()
	defer e.mu.RUnlock()
	s := Stats{Upstreams: len(e.upstreams)}
	for _, u := range e.upstreams {
		u.mu.RLock()
		s.Queries += len(u.entries)
		u.mu.RUnlock()
	}
	return s
}

// answer applies the staleness rules to an entry's state.
func (e *Engine) answer(u *upstream, st *state, now time.Time) (Sample, error) {
	if st.hasGood {
		// A sample stamped after now means the clock went back since the
		// poll: its true age is unknown, so it counts by its distance from
		// now rather than as fresh until the clock catches up with it.
		age := now.Sub(st.good.Time)
		ahead := age < 0
		age = age.Abs()
		if st.err == nil {
			if age > e.opts.staleAfter(u) {
				if ahead {
					return Sample{}, fmt.Errorf("%s: last sample is stamped %s ahead of the clock, which went back: %w",
						u.ep.Name, age.Round(time.Millisecond), ErrUnavailable)
				}
				return Sample{}, fmt.Errorf("%s: last sample is %s old, polling has stalled: %w",
					u.ep.Name, age.Round(time.Millisecond), ErrUnavailable)
			}
			return st.good, nil
		}
		if e.opts.MaxStaleness > 0 && age <= e.opts.MaxStaleness {
			return st.good, nil
		}
	}
	return Sample{}, st.err
}

// entryFor finds or creates the entry of q and its upstream.
func (e *Engine) entryFor(q Query) (*entry, *upstream, error) {
	key, ep := q.Key(), q.Upstream()
	e.mu.RLock()
	if e.closed {
		e.mu.RUnlock()
		return nil, nil, fmt.Errorf("%s: engine closed: %w", ep.Name, ErrUnavailable)
	}
	if u := e.upstreams[ep.Key]; u != nil {
		u.mu.RLock()
		ent := u.entries[key]
		u.mu.RUnlock()
		if ent != nil {
			e.mu.RUnlock()
			return ent, u, nil
		}
	}
	e.mu.RUnlock()

	// Slow path: a new query, maybe a new upstream. Hold the write lock so
	// a poll loop cannot retire the upstream while the entry is added.
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, nil, fmt.Errorf("%s: engine closed: %w", ep.Name, ErrUnavailable)
	}
	u := e.upstreams[ep.Key]
	if u == nil {
		up, err := q.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", ep.Name, err)
		}
		u = newUpstream(e, ep, up)
		e.upstreams[ep.Key] = u
		e.wg.Add(1)
		go u.loop()
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	ent := u.entries[key]
	if ent == nil {
		ent = newEntry(q)
		ent.lastUsed.Store(e.opts.Now().UnixNano())
		u.entries[key] = ent
	}
	return ent, u, nil
}

// retire removes u when it has no entries left; it reports whether it did.
func (e *Engine) retire(u *upstream) bool {
	e.mu.Lock()
	u.mu.Lock()
	empty := len(u.entries) == 0
	if empty && e.upstreams[u.ep.Key] == u {
		delete(e.upstreams, u.ep.Key)
	}
	u.mu.Unlock()
	e.mu.Unlock()
	if empty {
		e.opts.Metrics.Queries.DeleteLabelValues(u.ep.Name)
		if err := u.up.Close(); err != nil {
			e.opts.Logger.Warn("closing idle upstream", "upstream", u.ep.Name, "err", err)
		}
	}
	return empty
}

// entry is one query's cache slot.
type entry struct {
	q        Query
	key      string
	state    atomic.Pointer[state] // nil until the first result
	ready    chan struct{}         // closed with the first result
	readyOne sync.Once
	lastUsed atomic.Int64 // unix nanos of the last Read or Watch stop
	flight   atomic.Bool  // a first sample is under way
	// rest: a probe woke this query and the poll still found no activity
	// (its consumers took the news); not probed again before its next
	// regular poll, so running consumers cost one wake per poll interval.
	rest atomic.Bool
	// polled and vouched are the unix nanos of the latest recorded poll
	// result and of the latest Quiet probe after it (see skipIdle).
	polled, vouched atomic.Int64
	phase           uint64 // a hash of key: shifts the entry's idle-poll slots

	mu       sync.Mutex
	watchers map[chan struct{}]struct{}
	notes    map[string]bool // notes already logged
	excluded bool            // the excluded-parts series exists
}

// state is an immutable snapshot of an entry's last results.
type state struct {
	good    Sample
	hasGood bool
	err     error // the latest result's error; nil when the latest was good
}

func newEntry(q Query) *entry {
	h := fnv.New64a()
	_, _ = h.Write([]byte(q.Key()))
	return &entry{q: q, key: q.Key(), phase: h.Sum64(), ready: make(chan struct{}),
		watchers: map[chan struct{}]struct{}{}, notes: map[string]bool{}}
}

func (ent *entry) watched() bool {
	ent.mu.Lock()
	defer ent.mu.Unlock()
	return len(ent.watchers) > 0
}

// notify signals every watcher without blocking: a watcher that has not
// consumed the previous signal reads the newest state anyway.
func (ent *entry) notify() {
	ent.mu.Lock()
	defer ent.mu.Unlock()
	for ch := range ent.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Peeked is what the engine holds for one query.
type Peeked struct {
	// Last is the newest good sample; its Time is zero when there is none.
	Last Sample
	// Err is what Read would return now (the latest poll's error, or the
	// last sample being too old to serve); nil when Read would return Last.
	Err error
}

// Peek returns what Read would answer for q now, without registering q,
// marking it used or starting a sample: read-only faces (the status page)
// must not keep queries alive nor cause upstream I/O. ok is false when the
// engine holds no result for q.
func (e *Engine) Peek(q Query) (p Peeked, ok bool) {
	e.mu.RLock()
	u := e.upstreams[q.Upstream().Key]
	e.mu.RUnlock()
	if u == nil {
		return Peeked{}, false
	}
	u.mu.RLock()
	ent := u.entries[q.Key()]
	u.mu.RUnlock()
	if ent == nil {
		return Peeked{}, false
	}
	st := ent.state.Load()
	if st == nil {
		return Peeked{}, false
	}
	if st.hasGood {
		p.Last = st.good
	}
	_, p.Err = e.answer(u, st, e.opts.Now())
	return p, true
}
