package inference

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// StoreOptions configure a Store. Zero values take the defaults noted.
type StoreOptions struct {
	// Now is the clock that stamps arrivals (default time.Now).
	Now func() time.Time
	// MaxModels bounds the models held at once (default 1000): the push
	// endpoint must not let a client make the scaler hold unbounded memory.
	MaxModels int
	// Retention is how long pushed counts are kept (default 1 h, the
	// longest stable window).
	Retention time.Duration
	// Forward, when set, is called with every push the push endpoint
	// (Handler) stores, with its effective timestamp: a Forwarder's
	// Forward, which sends it to the peer replicas. Pushes that arrive
	// forwarded (ForwardedHandler) are never passed on.
	Forward func(model string, count float64, at time.Time)
}

// Store holds the request counts a gateway or router pushes per model, in
// 1 s buckets by the push's own timestamp. It is what wakes a model at
// zero replicas: with no pods there are no pod metrics, but the router
// still sees the requests arrive.
//
// With several scaler replicas a gateway pushes to any one of them: with
// StoreOptions.Forward set to a Forwarder's, the replica forwards what it
// stored to its peers (found through its own Service's EndpointSlices, or
// a static list), which store it under the same timestamp, so every
// replica holds the same counts and gives KEDA the same answer
// (TestForwardKeepsTimestampsAndNeverLoops; test/kedacompat
// TestReplicasAgreeUnderRoundRobin).
type Store struct {
	opts  StoreOptions
	start time.Time // counts before it were never seen: windows average since then

	mu     sync.Mutex
	models map[string]*pushLog
}

// pushLog is one model's counts: sorted by second, one entry per second
// that had pushes, so idle seconds cost nothing.
type pushLog struct {
	secs   []int64
	counts []float64
	last   time.Time // arrival of the latest push, for eviction
}

// Limits on one push.
const (
	maxPushCount = 1_000_000_000
	maxPushAge   = 5 * time.Minute // older counts are history, not traffic
	maxPushAhead = time.Minute     // clock skew tolerated, then clamped to now
)

// NewStore returns an empty store.
func NewStore(opts StoreOptions) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxModels <= 0 {
		opts.MaxModels = 1000
	}
	if opts.Retention <= 0 {
		opts.Retention = maxStableWindow
	}
	return &Store{opts: opts, start: opts.Now(), models: map[string]*pushLog{}}
}

// errTooManyModels is a push for a new model when the store is full.
var errTooManyModels = errors.New("too many models")

// Add records count requests for model at time at (clamped to the arrival
// time if ahead of it). The HTTP handler validates pushes first; Add only
// refuses what would corrupt the counts.
func (s *Store) Add(model string, count float64, at time.Time) error {
	_, err := s.add(model, count, at)
	return err
}

// add is Add, returning the timestamp stored (at, clamped).
func (s *Store) add(model string, count float64, at time.Time) (time.Time, error) {
	if model == "" || !(count >= 0) || count > maxPushCount {
		return at, fmt.Errorf("push for model %q: count %v: want a model and a count between 0 and %d", model, count, maxPushCount)
	}
	now := s.opts.Now()
	if at.After(now) {
		at = now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.models[model]
	if l == nil {
		if len(s.models) >= s.opts.MaxModels {
			s.evict(now)
		}
		if len(s.models) >= s.opts.MaxModels {
			return at, fmt.Errorf("the push store holds %d models, its limit: %w", len(s.models), errTooManyModels)
		}
		l = &pushLog{}
		s.models[model] = l
	}
	l.last = now
	sec := at.Unix()
	i := len(l.secs)
	for i > 0 && l.secs[i-1] > sec { // pushes arrive nearly in order: search from the end
		i--
	}
	if i > 0 && l.secs[i-1] == sec {
		l.counts[i-1] += count
	} else {
		l.secs = slices.Insert(l.secs, i, sec)
		l.counts = slices.Insert(l.counts, i, count)
	}
	s.trim(l, now)
	return at, nil
}

// trim drops counts older than the retention.
func (s *Store) trim(l *pushLog, now time.Time) {
	oldest := now.Add(-s.opts.Retention).Unix()
	n := 0
	for n < len(l.secs) && l.secs[n] < oldest {
		n++
	}
	if n > 0 {
		l.secs, l.counts = slices.Delete(l.secs, 0, n), slices.Delete(l.counts, 0, n)
	}
}

// evict forgets models nobody pushed for within the retention.
func (s *Store) evict(now time.Time) {
	for m, l := range s.models {
		if now.Sub(l.last) > s.opts.Retention {
			delete(s.models, m)
		}
	}
}

// rate is model's pushed requests per second over (now-d, now], averaged
// over at least one second and only since the store started (a partial
// window, like the scrape windows).
func (s *Store) rate(model string, now time.Time, d time.Duration) float64 {
	start := now.Add(-d)
	if s.start.After(start) {
		start = s.start
	}
	span := max(now.Sub(start).Seconds(), 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.models[model]
	if l == nil {
		return 0
	}
	var total float64
	for i := len(l.secs) - 1; i >= 0; i-- {
		sec := l.secs[i]
		lo, hi := time.Unix(sec, 0), time.Unix(sec+1, 0)
		if !hi.After(start) {
			break
		}
		if lo.After(now) {
			continue // pushed for a second the poll has not reached
		}
		c := l.counts[i]
		if lo.Before(start) {
			c *= hi.Sub(start).Seconds() // the part of the oldest second inside the window
		}
		total += c
	}
	return total / span
}
