package standalone

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/nodehints"
	"github.com/tide-scaler/tide/pkg/nodehints/forecast"
	"github.com/tide-scaler/tide/pkg/scale"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// headroom keeps node headroom for entries with a nodeLeadTime. Every
// replica observes the demand; only a leadership term writes.
type headroom struct {
	cache  *trigger.Cache
	scales scale.Client
	writer *nodehints.Writer
	log    *slog.Logger

	mu     sync.Mutex
	demand map[string]*demand    // by the entry's namespace/name
	owned  map[scale.Target]bool // what this replica's terms wrote for
}

// demand is one entry's history; ok says whether its last read succeeded.
type demand struct {
	points []forecast.Point
	ok     bool
}

func newHeadroom(cache *trigger.Cache, scales scale.Client, w *nodehints.Writer, log *slog.Logger) *headroom {
	return &headroom{cache: cache, scales: scales, writer: w, log: log,
		demand: map[string]*demand{}, owned: map[scale.Target]bool{}}
}

// hinted are the entries that want headroom, by key.
func hinted(cfg *workload.Config) map[string]*workload.Workload {
	out := map[string]*workload.Workload{}
	if cfg == nil {
		return out
	}
	for i := range cfg.Workloads {
		if w := &cfg.Workloads[i]; w.NodeLeadTime > 0 && w.Trigger() != nil {
			out[w.Namespace+"/"+w.Name] = w
		}
	}
	return out
}

// observe reads each entry's demand (the replicas it needs) into its
// history, and forgets the entries that are gone.
func (h *headroom) observe(ctx context.Context, now time.Time, cfg *workload.Config) {
	ws := hinted(cfg)
	for key, w := range ws {
		r, err := h.cache.Read(ctx, w.Trigger())
		h.mu.Lock()
		d := h.demand[key]
		if d == nil {
			d = &demand{}
			h.demand[key] = d
		}
		d.ok = err == nil
		if err == nil {
			d.points = forecast.Trim(append(d.points, forecast.Point{Time: now, Demand: float64(r.Measurement.Replicas)}), now)
		}
		h.mu.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for key := range h.demand {
		if ws[key] == nil {
			delete(h.demand, key)
		}
	}
}

// write keeps each entry's headroom and removes what this replica wrote
// for targets no entry wants headroom for any more; every write is under
// term.
func (h *headroom) write(term context.Context, now time.Time, cfg *workload.Config) {
	ws := hinted(cfg)
	want := map[scale.Target]bool{}
	for key, w := range ws {
		want[w.ScaleTarget] = true
		h.writeOne(term, now, key, w)
	}
	h.mu.Lock()
	var gone []scale.Target
	for t := range h.owned {
		if !want[t] {
			gone = append(gone, t)
		}
	}
	h.mu.Unlock()
	for _, t := range gone {
		if term.Err() != nil {
			return
		}
		if err := h.writer.Delete(term, t); err != nil {
			h.log.Warn("node hints: cannot remove headroom", "target", t.String(), "err", err)
			continue
		}
		h.mu.Lock()
		delete(h.owned, t)
		h.mu.Unlock()
	}
}

// writeOne writes nothing while the demand is unknown (never shrink
// headroom on an error) or the target's scale cannot be read.
func (h *headroom) writeOne(term context.Context, now time.Time, key string, w *workload.Workload) {
	h.mu.Lock()
	var points []forecast.Point
	d := h.demand[key]
	if d != nil && d.ok {
		points = slices.Clone(d.points)
	}
	h.mu.Unlock()
	if len(points) == 0 {
		return
	}
	sc, err := h.scales.GetScale(term, w.ScaleTarget)
	if err != nil {
		h.log.Warn("node hints: cannot read the target's scale", "trigger", key, "err", err)
		return
	}
	predicted, why := forecast.Predict(points, now, w.NodeLeadTime, w.MaxReplicas)
	if term.Err() != nil {
		return
	}
	h.mu.Lock()
	h.owned[w.ScaleTarget] = true
	h.mu.Unlock()
	if _, err := h.writer.Sync(term, w.ScaleTarget, forecast.Headroom(predicted, sc.Replicas)); err != nil && term.Err() == nil {
		h.log.Warn("node hints: cannot write headroom", "trigger", key, "predicted", predicted, "why", why, "err", err)
	}
}
