package standalone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/tide-scaler/tide/pkg/leader"
	"github.com/tide-scaler/tide/pkg/nodehints"
	"github.com/tide-scaler/tide/pkg/scale"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
	"github.com/tide-scaler/tide/pkg/zero"
)

// DefaultInterval is how often targets are checked when Options has none.
const DefaultInterval = 5 * time.Second

// Options configure Run. All but Interval, Now and Logger are required.
type Options struct {
	// Workloads is the configuration in force, read every Interval (e.g.
	// (*workload.File).Current).
	Workloads func() *workload.Config
	// Cache is the trigger cache the configuration's triggers are held in.
	Cache *trigger.Cache

	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper

	// Lease names the Lease and its timings; its Logger defaults to Logger.
	Lease leader.Config
	// Interval is how often targets are checked (default DefaultInterval).
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
}

// Run elects a leader among the scaler replicas and, while leading, owns
// 0 <-> 1 for entries with minReplicas 0 and keeps node headroom for
// entries with a nodeLeadTime, until ctx ends. Every replica keeps the
// demand history. Events are recorded on the targets through o.Kube.
func Run(ctx context.Context, o Options) error {
	if o.Workloads == nil || o.Cache == nil || o.Kube == nil || o.Dynamic == nil || o.Mapper == nil {
		return errors.New("standalone: Workloads, Cache, Kube, Dynamic and Mapper are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Lease.Logger == nil {
		o.Lease.Logger = o.Logger
	}
	if err := o.Lease.Validate(); err != nil {
		return err
	}
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: o.Kube.CoreV1().Events("")})
	defer b.Shutdown()
	rec := b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "tide"})
	r, err := newRunner(o, scale.NewDynamic(o.Dynamic, o.Mapper), rec)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.every(ctx, r.observe) })
	err = leader.Run(ctx, o.Kube, o.Lease, func(term context.Context) {
		r.zero.Forget()
		r.every(term, r.step)
	})
	wg.Wait()
	return err
}

// runner holds what the loops share.
type runner struct {
	o     Options
	zero  *zero.Controller
	hints *headroom
}

func newRunner(o Options, scales scale.Client, rec record.EventRecorder) (*runner, error) {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	z, err := zero.New(scales, zero.Config{Recorder: rec, Now: o.Now, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	w := nodehints.NewWriter(o.Kube, o.Dynamic, o.Mapper, nodehints.Options{Now: o.Now, Logger: o.Logger})
	return &runner{o: o, zero: z, hints: newHeadroom(o.Cache, scales, w, o.Logger)}, nil
}

// every runs f at once and then each Interval until ctx ends.
func (r *runner) every(ctx context.Context, f func(context.Context)) {
	t := time.NewTicker(r.o.Interval)
	defer t.Stop()
	for {
		f(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observe is what every replica does: read the demand for headroom.
func (r *runner) observe(ctx context.Context) { r.hints.observe(ctx, r.o.Now(), r.o.Workloads()) }

// step is one check of a leadership term: 0 <-> 1, then headroom, every
// write under term.
func (r *runner) step(term context.Context) {
	cfg := r.o.Workloads()
	r.zero.SetTargets(targets(cfg, r.o.Cache))
	r.zero.Sync(term)
	r.hints.write(term, r.o.Now(), cfg)
}

// targets are the scale targets whose every entry has minReplicas 0, each
// with the triggers of all its entries (active when any is, as in KEDA)
// and the longest of their cooldowns. A target that some entry gives
// minReplicas >= 1 must not go to zero, so it is left out.
func targets(cfg *workload.Config, cache *trigger.Cache) []zero.Target {
	if cfg == nil {
		return nil
	}
	byTarget := map[scale.Target]*zero.Target{}
	var order []scale.Target
	excluded := map[scale.Target]bool{}
	for i := range cfg.Workloads {
		w := &cfg.Workloads[i]
		if w.MinReplicas != 0 || w.Trigger() == nil {
			excluded[w.ScaleTarget] = true
			continue
		}
		zt, ok := byTarget[w.ScaleTarget]
		if !ok {
			zt = &zero.Target{Target: w.ScaleTarget}
			byTarget[w.ScaleTarget] = zt
			order = append(order, w.ScaleTarget)
		}
		zt.Triggers = append(zt.Triggers, activity{cache: cache, t: w.Trigger()})
		zt.Cooldown = max(zt.Cooldown, w.CooldownPeriod)
	}
	var out []zero.Target
	for _, st := range order {
		if !excluded[st] {
			out = append(out, *byTarget[st])
		}
	}
	return out
}

// activity answers zero with the shared trigger's latch.
type activity struct {
	cache *trigger.Cache
	t     *trigger.Trigger
}

func (a activity) Activity(ctx context.Context) (bool, string, error) {
	r, err := a.cache.Read(ctx, a.t)
	if err != nil {
		return false, "", err
	}
	return r.Active, explain(a.t, r), nil
}

// explain says why the latch answered as it did, e.g. "orders-lag 42 >
// activation 0", naming the deactivation threshold or the minimum active
// time when they, not the activation threshold, keep a trigger active.
func explain(t *trigger.Trigger, r trigger.Reading) string {
	a, v, name := t.Options().Activation, r.Sample.Activity, t.MetricName()
	switch {
	case !r.Active:
		return fmt.Sprintf("%s %g <= activation %g", name, v, a.On)
	case r.Sample.Unknown:
		return fmt.Sprintf("%s: no data (empty or NaN result): held active for unknownGracePeriod %s", name, a.UnknownGrace)
	case v > a.On:
		return fmt.Sprintf("%s %g > activation %g", name, v, a.On)
	case v > a.Off:
		return fmt.Sprintf("%s %g > deactivationThreshold %g: still active", name, v, a.Off)
	default:
		return fmt.Sprintf("%s %g <= deactivationThreshold %g: active for minActiveDuration %s", name, v, a.Off, a.MinActive)
	}
}
