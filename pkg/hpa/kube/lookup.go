package kube

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/scale"
)

// Defaults for Options left zero.
const (
	DefaultCacheTTL = 15 * time.Second
	DefaultTimeout  = 10 * time.Second
)

// forbiddenRetry is how long a Forbidden answer for ScaledObjects in a
// namespace is remembered. RBAC rarely changes, and a denied request costs
// the API server a round trip and an audit entry every TTL; the retry still
// lets a fixed Role take effect without a restart.
const forbiddenRetry = 5 * time.Minute

// Options tune a Lookup. The zero value is usable.
type Options struct {
	// Now is the clock; nil is time.Now. Tests inject one to move the cache.
	Now func() time.Time
	// CacheTTL is how long a Snapshot (or an error) is reused; 0 means
	// DefaultCacheTTL. It bounds the API requests per ScaledObject however
	// often Get is called (HPA awareness calls it every interval, off the
	// RPC path; explain once).
	CacheTTL time.Duration
	// Timeout bounds one fetch (all its requests); 0 means DefaultTimeout.
	// A fetch outlives the caller that started it, since other callers may
	// be waiting on it.
	Timeout time.Duration
	// Logger receives debug lines per fetch and a warning when
	// ScaledObjects cannot be read; nil discards.
	Logger *slog.Logger
}

// Ref names the HPA of one ScaledObject.
type Ref struct {
	Namespace    string
	ScaledObject string
	// HPAName overrides the HPA's name; "" derives it (see Lookup.Get).
	HPAName string
}

// String is namespace/ScaledObject, the name errors and logs use.
func (r Ref) String() string { return r.Namespace + "/" + r.ScaledObject }

// Snapshot is what the API server said about one ScaledObject's HPA at Read.
// Its slices and pointers are shared between callers of a cached Snapshot:
// treat it as read-only.
type Snapshot struct {
	// HPAName is the name of the HPA that was read.
	HPAName string
	// HPA is the spec, converted by Model.
	HPA hpa.HPA
	// Current is the scale target's state: Spec from the scale
	// subresource's spec.replicas, Status from its status.replicas. Ready
	// is not in the scale subresource (the controller counts Running and
	// Ready pods); it is approximated by the HPA's status.currentReplicas
	// (the spec count at its last sync), capped at Status since no more
	// pods can be ready than exist, and Status when the HPA has not synced.
	// Only Value targets read Ready; during a rollout or scale-up it
	// overcounts, so a Value prediction then runs high.
	Current hpa.Current
	// Metrics are the HPA's metrics in spec order (see Metrics).
	Metrics []Metric
	// Target is the HPA's scaleTargetRef.
	Target autoscalingv2.CrossVersionObjectReference
	// ScaledObject is nil when the ScaledObject was not found or may not
	// be read (Forbidden): the HPA is then still read, under the default
	// name unless Ref.HPAName is set.
	ScaledObject *ScaledObjectInfo
	// Read is when the fetch started, on Options.Now's clock.
	Read time.Time
}

// Lookup reads the HPA of a ScaledObject, with its scale target and the
// ScaledObject's settings, and caches the result. It is safe for
// concurrent use.
type Lookup struct {
	kc     kubernetes.Interface
	dc     dynamic.Interface
	scales scale.Client
	opts   Options

	flights singleflight.Group

	mu        sync.Mutex
	cache     map[Ref]entry
	forbidden map[string]time.Time // namespace -> retry ScaledObjects after
}

type entry struct {
	snap    Snapshot
	err     error
	expires time.Time
}

// NewLookup returns a Lookup reading HPAs through kc, ScaledObjects and
// scale subresources through dc, and resolving scaleTargetRefs with mapper
// (in a cluster, restmapper.NewDeferredDiscoveryRESTMapper over a memory
// cached discovery client, so custom scale targets resolve too).
func NewLookup(kc kubernetes.Interface, dc dynamic.Interface, mapper meta.RESTMapper, opts Options) *Lookup {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Lookup{
		kc: kc, dc: dc, scales: scale.NewDynamic(dc, mapper), opts: opts,
		cache:     map[Ref]entry{},
		forbidden: map[string]time.Time{},
	}
}

// Get returns the Snapshot of ref, from the cache when one was read less
// than CacheTTL ago. Errors are cached as well, so a missing HPA costs one
// request per TTL, not one per call. Concurrent Gets of one ref share one
// fetch; a caller whose ctx ends stops waiting, but the fetch goes on for
// the others (bounded by Options.Timeout) and fills the cache.
//
// The HPA's name is ref.HPAName if set, else the ScaledObject's
// spec.advanced.horizontalPodAutoscalerConfig.name, else
// keda-hpa-<ScaledObject>, as KEDA names it. An error names the object it
// is about and wraps the API error: apierrors.IsNotFound and IsForbidden
// see through it. With an error the Snapshot holds what was read before it
// (Read, and HPAName once the ScaledObject was read); do not predict from it.
func (l *Lookup) Get(ctx context.Context, ref Ref) (Snapshot, error) {
	if ref.Namespace == "" || ref.ScaledObject == "" {
		return Snapshot{}, fmt.Errorf("hpa lookup: namespace and ScaledObject are required, got %q", ref.String())
	}
	if s, err, ok := l.cached(ref); ok {
		return s, err
	}
	ch := l.flights.DoChan(ref.String()+"/"+ref.HPAName, func() (any, error) {
		// A flight that ended between the check above and DoChan has
		// already filled the cache.
		if s, err, ok := l.cached(ref); ok {
			return s, err
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.Timeout)
		defer cancel()
		s, err := l.fetch(fctx, ref)
		l.store(ref, s, err)
		return s, err
	})
	select {
	case r := <-ch:
		s, _ := r.Val.(Snapshot)
		return s, r.Err
	case <-ctx.Done():
		return Snapshot{}, fmt.Errorf("hpa lookup %s: %w", ref, ctx.Err())
	}
}

func (l *Lookup) cached(ref Ref) (Snapshot, error, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.cache[ref]
	if !ok || !l.opts.Now().Before(e.expires) {
		return Snapshot{}, nil, false
	}
	return e.snap, e.err, true
}

// store caches a result and drops expired entries, so ScaledObjects that
// are deleted (and never asked about again) do not pile up.
func (l *Lookup) store(ref Ref, s Snapshot, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.opts.Now()
	for k, e := range l.cache {
		if !now.Before(e.expires) {
			delete(l.cache, k)
		}
	}
	read := s.Read
	if read.IsZero() {
		read = now
	}
	l.cache[ref] = entry{snap: s, err: err, expires: read.Add(l.opts.CacheTTL)}
}

// fetch reads the ScaledObject, the HPA and the scale, in that order: the
// ScaledObject may rename the HPA, and the HPA names the scale target.
func (l *Lookup) fetch(ctx context.Context, ref Ref) (Snapshot, error) {
	s := Snapshot{Read: l.opts.Now()}
	info, err := l.scaledObject(ctx, ref.Namespace, ref.ScaledObject, s.Read)
	if err != nil {
		return s, err
	}
	s.ScaledObject = info
	s.HPAName = ref.HPAName
	if s.HPAName == "" && info != nil {
		s.HPAName = info.HPAName
	}
	if s.HPAName == "" {
		s.HPAName = "keda-hpa-" + ref.ScaledObject
	}

	h, err := l.kc.AutoscalingV2().HorizontalPodAutoscalers(ref.Namespace).Get(ctx, s.HPAName, metav1.GetOptions{})
	if err != nil {
		return s, fmt.Errorf("get HorizontalPodAutoscaler %s/%s (ScaledObject %s): %w", ref.Namespace, s.HPAName, ref.ScaledObject, err)
	}
	if s.HPA, err = Model(h); err != nil {
		return s, err
	}
	s.Metrics = Metrics(h)
	s.Target = h.Spec.ScaleTargetRef

	spec, status, err := l.scale(ctx, ref.Namespace, s.Target)
	if err != nil {
		return s, err
	}
	ready := status
	if c := h.Status.CurrentReplicas; c > 0 && c < ready {
		ready = c
	}
	s.Current = hpa.Current{Spec: spec, Status: status, Ready: ready}
	l.opts.Logger.Debug("hpa snapshot", "scaledObject", ref.String(), "hpa", s.HPAName,
		"spec", spec, "status", status, "min", s.HPA.MinReplicas, "max", s.HPA.MaxReplicas)
	return s, nil
}

// scaledObject reads the ScaledObject. NotFound and Forbidden give nil info
// and no error: the ScaledObject only refines the snapshot. Forbidden is
// remembered per namespace (see forbiddenRetry) and logged once.
func (l *Lookup) scaledObject(ctx context.Context, ns, name string, now time.Time) (*ScaledObjectInfo, error) {
	l.mu.Lock()
	retry, denied := l.forbidden[ns]
	l.mu.Unlock()
	if denied && now.Before(retry) {
		return nil, nil
	}
	u, err := l.dc.Resource(ScaledObjectResource).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsForbidden(err):
		l.mu.Lock()
		l.forbidden[ns] = now.Add(forbiddenRetry)
		l.mu.Unlock()
		if !denied {
			l.opts.Logger.Warn("cannot read ScaledObjects: HPA checks run without cooldown and name override; grant get on scaledobjects.keda.sh",
				"namespace", ns, "err", err)
		}
		return nil, nil
	case apierrors.IsNotFound(err):
		l.opts.Logger.Debug("ScaledObject not found", "scaledObject", ns+"/"+name)
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get ScaledObject %s/%s: %w", ns, name, err)
	}
	if denied {
		l.mu.Lock()
		delete(l.forbidden, ns)
		l.mu.Unlock()
	}
	info, err := parseScaledObject(u)
	if err != nil {
		return nil, fmt.Errorf("ScaledObject %s/%s: %w", ns, name, err)
	}
	return info, nil
}

// scale reads the scale subresource of the HPA's target (pkg/scale
// resolves any kind that has one, not only Deployments).
func (l *Lookup) scale(ctx context.Context, ns string, t autoscalingv2.CrossVersionObjectReference) (spec, status int32, err error) {
	s, err := l.scales.GetScale(ctx, scale.Target{Namespace: ns, APIVersion: t.APIVersion, Kind: t.Kind, Name: t.Name})
	return s.Replicas, s.StatusReplicas, err
}
