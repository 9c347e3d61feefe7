package status

import (
	"sync"
	"time"
)

// Point is one step of a trigger's history: the largest demand and desired
// replicas of the samples that fell in the step.
type Point struct {
	// Time is the start of the step.
	Time     time.Time
	Value    float64
	Replicas int64
}

// point is a Point as stored: 24 bytes.
type point struct {
	step     int64 // Unix nanoseconds / step length
	value    float64
	replicas int64
}

// ring holds a series' newest points, oldest first from head.
type ring struct {
	pts  []point
	head int // index of the oldest point
	n    int
}

func (r *ring) newest() *point {
	if r.n == 0 {
		return nil
	}
	return &r.pts[(r.head+r.n-1)%len(r.pts)]
}

func (r *ring) push(p point) {
	if r.n < len(r.pts) {
		r.pts[(r.head+r.n)%len(r.pts)] = p
		r.n++
		return
	}
	r.pts[r.head] = p
	r.head = (r.head + 1) % len(r.pts)
}

// History keeps, per key, the points of the last Span in steps of Step,
// for at most MaxSeries keys. Safe for concurrent use.
type History[K comparable] struct {
	step, span time.Duration
	size       int // points per series
	maxSeries  int

	mu     sync.Mutex
	series map[K]*ring
}

// NewHistory returns an empty history of span in steps of step (at least
// one point per series), for at most maxSeries keys (0: none).
func NewHistory[K comparable](step, span time.Duration, maxSeries int) *History[K] {
	size := max(1, int(span/step))
	return &History[K]{step: step, span: span, size: size, maxSeries: maxSeries, series: map[K]*ring{}}
}

// Add records a sample of k taken at t: it starts the step t falls in, or
// raises that step's values to the sample's when larger. A sample older
// than k's newest step (a clock that went back) is dropped. A new key
// beyond MaxSeries is not recorded: Add reports false.
func (h *History[K]) Add(k K, t time.Time, value float64, replicas int64) bool {
	step := t.UnixNano() / int64(h.step)
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.series[k]
	if r == nil {
		if len(h.series) >= h.maxSeries {
			return false
		}
		r = &ring{pts: make([]point, h.size)}
		h.series[k] = r
	}
	switch last := r.newest(); {
	case last == nil || step > last.step:
		r.push(point{step: step, value: value, replicas: replicas})
	case step == last.step:
		last.value = max(last.value, value)
		last.replicas = max(last.replicas, replicas)
	}
	return true
}

// Points are k's points whose step ends after now-Span, oldest first.
func (h *History[K]) Points(k K, now time.Time) []Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.series[k]
	if r == nil {
		return nil
	}
	from := now.Add(-h.span).UnixNano()
	out := make([]Point, 0, r.n)
	for i := range r.n {
		p := r.pts[(r.head+i)%len(r.pts)]
		if (p.step+1)*int64(h.step) <= from {
			continue
		}
		out = append(out, Point{Time: time.Unix(0, p.step*int64(h.step)), Value: p.value, Replicas: p.replicas})
	}
	return out
}

// Has reports whether k has a series.
func (h *History[K]) Has(k K) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.series[k]
	return ok
}

// Retain drops the series of every key keep refuses.
func (h *History[K]) Retain(keep func(K) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.series {
		if !keep(k) {
			delete(h.series, k)
		}
	}
}

// Len is the number of series.
func (h *History[K]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.series)
}
