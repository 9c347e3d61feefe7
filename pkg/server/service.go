package server

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/trigger"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// Observer is told what the service sent for a ScaledObject's metric, on
// the RPC path: it must not do I/O. HPA awareness implements it.
type Observer interface {
	Observe(now time.Time, owner trigger.Owner, t *trigger.Trigger, r trigger.Reading)
}

// ServiceConfig configures the ExternalScaler service. Triggers and Metrics
// are required.
type ServiceConfig struct {
	// Triggers is the process's trigger cache, shared with every other face.
	Triggers *trigger.Cache
	Metrics  *metrics.Metrics
	Logger   *slog.Logger
	Now      func() time.Time
	// StreamRepeat is how soon StreamIsActive repeats `true` after it
	// became active (default 5 s): KEDA treats each true as a wake-up, and
	// a repeat covers a KEDA that missed the first. Later repeats back off,
	// doubling up to StreamRepeatMax, so that streams that stay active cost
	// little.
	StreamRepeat time.Duration
	// StreamRepeatMax is the longest wait between repeats (default 60 s,
	// never below StreamRepeat).
	StreamRepeatMax time.Duration
	// MaxStreamsPerClient bounds the streams of each streaming RPC
	// (StreamIsActive, StreamMetricSpec) one client connection (peer
	// address) holds open at once (0 = unbounded).
	MaxStreamsPerClient int
	// Observer, when set, is told every value sent (HPA awareness).
	Observer Observer
}

// Service implements KEDA's ExternalScaler gRPC service: it maps RPCs to
// triggers of the cache and their readings to responses.
type Service struct {
	pb.UnimplementedExternalScalerServer
	cfg ServiceConfig
	// Each streaming RPC has its own per-client budget: KEDA opens one of
	// each per external-push trigger.
	activeStreams, specStreams *streamLimiter
	drain                      chan struct{}
	gauges                     *gaugeCache
}

// NewService returns the service. Drain ends its open streams.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StreamRepeat <= 0 {
		cfg.StreamRepeat = 5 * time.Second
	}
	if cfg.StreamRepeatMax <= 0 {
		cfg.StreamRepeatMax = time.Minute
	}
	cfg.StreamRepeatMax = max(cfg.StreamRepeatMax, cfg.StreamRepeat)
	cfg.Metrics.StreamLimit.Set(float64(max(cfg.MaxStreamsPerClient, 0)))
	limiter := func(rpc string) *streamLimiter {
		return newStreamLimiter(rpc, cfg.MaxStreamsPerClient, cfg.Metrics.ClientStreams.WithLabelValues(rpc))
	}
	return &Service{cfg: cfg, activeStreams: limiter("StreamIsActive"), specStreams: limiter("StreamMetricSpec"),
		drain: make(chan struct{}), gauges: &gaugeCache{per: cfg.Metrics.PerMetric, m: map[gaugeKey]*metrics.MetricSeries{}}}
}

// Drain makes every open stream end with status OK. KEDA resets its
// reconnect backoff only after a clean end, so a drained scaler is
// reconnected to within seconds instead of minutes.
func (s *Service) Drain() {
	select {
	case <-s.drain:
	default:
		close(s.drain)
	}
}

// SweepTriggers forgets triggers unused since before, with the series the
// service exported for them, and returns how many remain.
func (s *Service) SweepTriggers(before time.Time) int {
	return s.cfg.Triggers.Sweep(before, func(t *trigger.Trigger) { s.gauges.forget(t, t.Owners()) })
}

// trigger returns the ref's trigger and records the ScaledObject as one of
// its owners, whether or not its upstream answers: the status page lists a
// failing trigger under its namespace too.
func (s *Service) trigger(ref *pb.ScaledObjectRef) (*trigger.Trigger, error) {
	t, err := s.cfg.Triggers.Get(ref.GetScalerMetadata(), s.cfg.Now())
	if err != nil {
		return nil, err
	}
	t.Own(trigger.Owner{Namespace: ref.GetNamespace(), Name: ref.GetName()})
	return t, nil
}

// GetMetricSpec does no I/O and cannot fail for valid metadata: KEDA's
// fallback does not engage when it fails.
func (s *Service) GetMetricSpec(_ context.Context, ref *pb.ScaledObjectRef) (*pb.GetMetricSpecResponse, error) {
	t, err := s.trigger(ref)
	if err != nil {
		return nil, toStatus(err)
	}
	return specOf(t), nil
}

func specOf(t *trigger.Trigger) *pb.GetMetricSpecResponse {
	v := t.Target()
	return &pb.GetMetricSpecResponse{MetricSpecs: []*pb.MetricSpec{{
		MetricName:      t.MetricName(),
		TargetSize:      intField(v, 1),
		TargetSizeFloat: v,
	}}}
}

// intField fills the int64 twin of a float field for KEDA before 2.17,
// which reads only the int. It rounds to nearest and never goes below
// floor (a target of 0 would divide by zero in the HPA).
func intField(v float64, floor int64) int64 {
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(floor, int64(math.Round(v)))
}

// measure reads the trigger's sample, evaluates it and exports it.
func (s *Service) measure(ctx context.Context, ref *pb.ScaledObjectRef) (*trigger.Trigger, trigger.Reading, error) {
	t, err := s.trigger(ref)
	if err != nil {
		return nil, trigger.Reading{}, err
	}
	r, err := s.cfg.Triggers.Read(ctx, t)
	if err != nil {
		return t, r, err
	}
	s.observe(ref, t, r)
	return t, r, nil
}

// observe exports the reading for one ScaledObject metric and tells the
// observer.
func (s *Service) observe(ref *pb.ScaledObjectRef, t *trigger.Trigger, r trigger.Reading) {
	o := trigger.Owner{Namespace: ref.GetNamespace(), Name: ref.GetName()}
	g := s.gauges.get(t, o)
	g.Set(metrics.Value, r.Value)
	g.Set(metrics.Target, t.Target())
	if !r.Sample.Time.IsZero() {
		g.Set(metrics.SampleAge, s.cfg.Now().Sub(r.Sample.Time).Seconds())
	}
	g.Set(metrics.Replicas, float64(r.Measurement.Replicas))
	active := 0.0
	if r.Active {
		active = 1
	}
	g.Set(metrics.Active, active)
	if f := r.Sample.Flow; f != nil {
		g.Set(metrics.LagSeconds, f.LagSeconds)
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.Observe(s.cfg.Now(), o, t, r)
	}
}

// GetMetrics returns exactly one value: the HPA sums all returned values.
func (s *Service) GetMetrics(ctx context.Context, req *pb.GetMetricsRequest) (*pb.GetMetricsResponse, error) {
	t, r, err := s.measure(ctx, req.GetScaledObjectRef())
	if err != nil {
		return nil, toStatus(err)
	}
	name := req.GetMetricName()
	if name == "" {
		name = t.MetricName()
	}
	return &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{{
		MetricName:       name,
		MetricValue:      intField(r.Value, 0),
		MetricValueFloat: r.Value,
	}}}, nil
}

// IsActive answers KEDA's only scale-from-zero signal for external triggers.
func (s *Service) IsActive(ctx context.Context, ref *pb.ScaledObjectRef) (*pb.IsActiveResponse, error) {
	_, r, err := s.measure(ctx, ref)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.IsActiveResponse{Result: r.Active}, nil
}
