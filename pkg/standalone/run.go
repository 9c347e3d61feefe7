package standalone

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tide-scaler/tide/pkg/externalmetrics"
	"github.com/tide-scaler/tide/pkg/nodehints"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/zero"
)

// Options configure Run.
type Options struct {
	// Config is the current standalone configuration (externalmetrics
	// ConfigFile.Current); it is re-read every Interval.
	Config  func() *externalmetrics.Config
	Reader  server.Reader
	Parsers map[string]server.Parser

	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper

	// LeaseName, LeaseNamespace and Identity name the leader election.
	LeaseName, LeaseNamespace, Identity string
	// Interval is how often targets are checked (default 5 s).
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Run elects a leader among the scaler replicas and, while leading, owns
// 0 <-> 1 for triggers with minReplicas 0 and keeps node headroom for
// triggers with nodeLeadTime, until ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	act := &activity{parsers: o.Parsers, reader: o.Reader}
	scales := zero.NewDynamicScales(o.Dynamic, o.Mapper)
	ctl, err := zero.New(o.Kube, scales, act, zero.Config{
		LeaseName: o.LeaseName, LeaseNamespace: o.LeaseNamespace, Identity: o.Identity,
		Interval: o.Interval, Now: o.Now, Logger: o.Logger,
	})
	if err != nil {
		return err
	}
	h := &hints{o: o, scales: scales, writer: nodehints.NewWriter(o.Kube, o.Dynamic, o.Mapper, nodehints.Options{Now: o.Now, Logger: o.Logger}),
		history: map[string][]nodehints.Point{}}
	ctl.SetTargets(targets(o.Config()))

	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(o.Interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				cfg := o.Config()
				ctl.SetTargets(targets(cfg))
				h.step(ctx, cfg, ctl.Leading())
			}
		}
	})
	err = ctl.Run(ctx)
	wg.Wait()
	return err
}

// targets are the config's triggers with minReplicas 0.
func targets(cfg *externalmetrics.Config) []zero.Target {
	if cfg == nil {
		return nil
	}
	var out []zero.Target
	for _, t := range cfg.Triggers {
		if t.MinReplicas != 0 {
			continue
		}
		out = append(out, zero.Target{
			Ref:      zero.Ref{Namespace: t.Namespace, APIVersion: t.ScaleTarget.APIVersion, Kind: t.ScaleTarget.Kind, Name: t.ScaleTarget.Name},
			Triggers: []map[string]string{t.Metadata},
			Cooldown: t.CooldownPeriod,
		})
	}
	return out
}

// activity answers zero's questions with the gRPC path's evaluation: the
// metadata is parsed as an RPC's would be (cheap; queries with equal keys
// share the engine's reading).
type activity struct {
	parsers map[string]server.Parser
	reader  server.Reader
}

func (a *activity) Active(ctx context.Context, md map[string]string) (bool, error) {
	active, _, err := a.Explain(ctx, md)
	return active, err
}

func (a *activity) Explain(ctx context.Context, md map[string]string) (bool, string, error) {
	t, err := server.ParseTrigger(a.parsers, md)
	if err != nil {
		return false, "", err
	}
	r, err := t.Measure(ctx, a.reader)
	if err != nil {
		return false, "", err
	}
	op := ">"
	if !r.Measurement.Active {
		op = "<="
	}
	why := fmt.Sprintf("%s %g %s activation %g", t.MetricName(), r.Sample.Activity, op, t.Options().Activation.On)
	return r.Measurement.Active, why, nil
}

// hints keeps node headroom for triggers with nodeLeadTime. Only the
// leader writes; every replica keeps the demand history, so a new leader
// predicts from a full window at once.
type hints struct {
	o       Options
	scales  *zero.DynamicScales
	writer  *nodehints.Writer
	history map[string][]nodehints.Point // by namespace/name of the trigger
	owned   map[string]nodehints.Target
}

func (h *hints) step(ctx context.Context, cfg *externalmetrics.Config, leading bool) {
	now := h.o.Now()
	seen := map[string]bool{}
	if cfg != nil {
		for _, t := range cfg.Triggers {
			if t.NodeLeadTime <= 0 {
				continue
			}
			key := t.Namespace + "/" + t.Name
			seen[key] = true
			h.one(ctx, now, key, &t, leading)
		}
	}
	for key, target := range h.owned {
		if seen[key] {
			continue
		}
		delete(h.history, key)
		if leading {
			if err := h.writer.Delete(ctx, target); err != nil {
				h.o.Logger.Warn("node hints: cannot remove headroom", "trigger", key, "err", err)
				continue
			}
		}
		delete(h.owned, key)
	}
}

func (h *hints) one(ctx context.Context, now time.Time, key string, t *externalmetrics.Trigger, leading bool) {
	r, err := t.Parsed().Measure(ctx, h.o.Reader)
	if err != nil {
		return // no demand known: keep what exists; never shrink headroom on an error
	}
	h.history[key] = nodehints.Trim(append(h.history[key], nodehints.Point{Time: now, Demand: float64(r.Measurement.Replicas)}), now)
	if !leading {
		return
	}
	ref := zero.Ref{Namespace: t.Namespace, APIVersion: t.ScaleTarget.APIVersion, Kind: t.ScaleTarget.Kind, Name: t.ScaleTarget.Name}
	sc, err := h.scales.GetScale(ctx, ref)
	if err != nil {
		h.o.Logger.Warn("node hints: cannot read the target's scale", "trigger", key, "err", err)
		return
	}
	predicted, why := nodehints.Predict(h.history[key], now, t.NodeLeadTime, t.MaxReplicas)
	group, _, _ := strings.Cut(t.ScaleTarget.APIVersion, "/")
	if !strings.Contains(t.ScaleTarget.APIVersion, "/") {
		group = ""
	}
	target := nodehints.Target{Namespace: t.Namespace, Name: t.ScaleTarget.Name, APIGroup: group, Kind: t.ScaleTarget.Kind}
	if h.owned == nil {
		h.owned = map[string]nodehints.Target{}
	}
	h.owned[key] = target
	if _, err := h.writer.Sync(ctx, target, nodehints.Headroom(predicted, sc.Replicas)); err != nil {
		h.o.Logger.Warn("node hints: cannot write headroom", "trigger", key, "predicted", predicted, "why", why, "err", err)
	}
}
