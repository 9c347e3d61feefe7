package server

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// Reader is what the service needs of the engine.
type Reader interface {
	Read(ctx context.Context, q sources.Query) (sources.Sample, error)
	Watch(q sources.Query) (updates <-chan struct{}, stop func(), err error)
}

// ServiceConfig configures the ExternalScaler service.
type ServiceConfig struct {
	Reader  Reader
	Parsers map[string]Parser // default DefaultParsers()
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// StreamRepeat is how often StreamIsActive repeats `true` while active
	// (default 5 s): KEDA treats each true as a wake-up, and a repeat
	// covers a KEDA that reconnected between two changes.
	StreamRepeat time.Duration
	// MaxTriggers bounds the parsed-trigger cache (0 = unbounded).
	MaxTriggers int
	// MaxStreamsPerClient bounds the StreamIsActive streams one client
	// connection (peer address) holds open at once (0 = unbounded).
	MaxStreamsPerClient int
	// Awareness, when set, predicts each ScaledObject's HPA (needs RBAC to
	// read HPAs and scale subresources).
	Awareness *AwarenessConfig
}

// Service implements KEDA's ExternalScaler gRPC service.
type Service struct {
	pb.UnimplementedExternalScalerServer
	cfg      ServiceConfig
	triggers *triggerCache
	streams  *streamLimiter
	drain    chan struct{}

	// ctx ends the followers of stateful triggers (Close).
	ctx       context.Context
	cancel    context.CancelFunc
	followers sync.WaitGroup

	aware *awareness // nil without HPA awareness
}

// NewService returns the service. Drain ends its open streams.
func NewService(cfg ServiceConfig) *Service {
	if cfg.Parsers == nil {
		cfg.Parsers = DefaultParsers()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StreamRepeat <= 0 {
		cfg.StreamRepeat = 5 * time.Second
	}
	tc := newTriggerCache(cfg.Parsers, cfg.MaxTriggers)
	tc.size = cfg.Metrics.Triggers
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{cfg: cfg, triggers: tc, streams: newStreamLimiter(cfg.MaxStreamsPerClient),
		drain: make(chan struct{}), ctx: ctx, cancel: cancel}
	if cfg.Awareness != nil {
		s.aware = newAwareness(*cfg.Awareness, cfg.Metrics, cfg.Logger)
	}
	return s
}

// runAwareness predicts HPAs until ctx ends; a no-op without awareness.
// ScaledObjects KEDA has not asked about for idle are forgotten.
func (s *Service) runAwareness(ctx context.Context, idle time.Duration) {
	if s.aware != nil {
		s.aware.run(ctx, s.cfg.Now, idle)
	}
}

// Close stops the background work of stateful triggers and waits for it.
func (s *Service) Close() {
	s.cancel()
	s.followers.Wait()
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

// SweepTriggers forgets triggers unused since before and returns how many
// remain.
func (s *Service) SweepTriggers(before time.Time) int {
	met := s.cfg.Metrics
	n := s.triggers.sweep(before, func(p *parsed) {
		p.mu.Lock()
		defer p.mu.Unlock()
		for o := range p.owners {
			for _, g := range []interface{ DeleteLabelValues(...string) bool }{met.MetricValue, met.Replicas, met.Active, met.LagSeconds} {
				g.DeleteLabelValues(o[0], o[1], p.name)
			}
		}
	})
	met.Triggers.Set(float64(n))
	return n
}

func (s *Service) trigger(ref *pb.ScaledObjectRef) (*parsed, error) {
	p, err := s.triggers.get(ref.GetScalerMetadata(), s.cfg.Now())
	if err != nil {
		return nil, err
	}
	if p.opts.Activation.Stateful() {
		p.follow.Do(func() { s.startFollower(p) })
	}
	return p, nil
}

// startFollower steps a stateful trigger's latch on every new sample of its
// query, so that hysteresis and the minimum active time see the upstream's
// whole history rather than the samples RPCs happen to ask about. Without
// it, two scaler replicas behind KEDA's round-robin could answer
// differently for the same ScaledObject.
func (s *Service) startFollower(p *parsed) {
	updates, stop, err := s.cfg.Reader.Watch(p.Query())
	if err != nil {
		// RPCs still step the latch; only the samples between them are missed.
		s.cfg.Logger.Warn("cannot follow trigger; activation sees only the samples RPCs read",
			"metric", p.name, "err", err)
		return
	}
	s.followers.Go(func() {
		defer stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-p.done:
				return
			case <-updates:
				if sample, err := s.cfg.Reader.Read(s.ctx, p.Query()); err == nil {
					p.latch.Step(p.opts.Activation, sample.Time, sample.Activity)
				}
			}
		}
	})
}

// GetMetricSpec does no I/O and cannot fail for valid metadata: KEDA's
// fallback does not engage when it fails.
func (s *Service) GetMetricSpec(_ context.Context, ref *pb.ScaledObjectRef) (*pb.GetMetricSpecResponse, error) {
	p, err := s.trigger(ref)
	if err != nil {
		return nil, toStatus(err)
	}
	return specOf(p), nil
}

func specOf(p *parsed) *pb.GetMetricSpecResponse {
	t := p.target()
	return &pb.GetMetricSpecResponse{MetricSpecs: []*pb.MetricSpec{{
		MetricName:      p.name,
		TargetSize:      intField(t, 1),
		TargetSizeFloat: t,
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

// measure reads the trigger's sample and evaluates it.
func (s *Service) measure(ctx context.Context, ref *pb.ScaledObjectRef) (*parsed, sources.Measurement, error) {
	p, err := s.trigger(ref)
	if err != nil {
		return nil, sources.Measurement{}, err
	}
	sample, err := s.cfg.Reader.Read(ctx, p.Query())
	if err != nil {
		return p, sources.Measurement{}, err
	}
	m := p.decide(sample)
	s.observe(ref, p, sample, m)
	return p, m, nil
}

// observe exports the decision for one ScaledObject metric.
func (s *Service) observe(ref *pb.ScaledObjectRef, p *parsed, sample sources.Sample, m sources.Measurement) {
	labels := []string{ref.GetNamespace(), ref.GetName(), p.name}
	met := s.cfg.Metrics
	p.own(ref.GetNamespace(), ref.GetName())
	met.MetricValue.WithLabelValues(labels...).Set(p.value(m))
	met.Replicas.WithLabelValues(labels...).Set(float64(m.Replicas))
	active := 0.0
	if m.Active {
		active = 1
	}
	met.Active.WithLabelValues(labels...).Set(active)
	if f := sample.Flow; f != nil {
		met.LagSeconds.WithLabelValues(labels...).Set(f.LagSeconds)
	}
	if s.aware != nil {
		s.aware.observe(s.cfg.Now(), ref.GetNamespace(), ref.GetName(), p, m, sample.Capacity)
	}
}

// GetMetrics returns exactly one value: the HPA sums all returned values.
func (s *Service) GetMetrics(ctx context.Context, req *pb.GetMetricsRequest) (*pb.GetMetricsResponse, error) {
	p, m, err := s.measure(ctx, req.GetScaledObjectRef())
	if err != nil {
		return nil, toStatus(err)
	}
	name := req.GetMetricName()
	if name == "" {
		name = p.name
	}
	v := p.value(m)
	return &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{{
		MetricName:       name,
		MetricValue:      intField(v, 0),
		MetricValueFloat: v,
	}}}, nil
}

// IsActive answers KEDA's only scale-from-zero signal for external triggers.
func (s *Service) IsActive(ctx context.Context, ref *pb.ScaledObjectRef) (*pb.IsActiveResponse, error) {
	_, m, err := s.measure(ctx, ref)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.IsActiveResponse{Result: m.Active}, nil
}
