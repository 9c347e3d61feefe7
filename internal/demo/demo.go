package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/pkg/hpa"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// Phase is one stretch of the traffic pattern.
type Phase struct {
	Name     string
	Duration time.Duration
	Rate     float64 // messages produced per second
}

// DefaultPhases is idle → burst → sustained → drain → idle. The burst asks
// for more consumers than the topic has partitions, so the view shows the
// partition cap at work.
var DefaultPhases = []Phase{
	{"idle", 5 * time.Second, 0},
	{"burst", 12 * time.Second, 1500},
	{"sustained", 25 * time.Second, 300},
	{"drain", 20 * time.Second, 0},
	{"idle", 20 * time.Second, 0},
}

// Options configure a demo run.
type Options struct {
	ScalerAddr   string   // gRPC address of a running scaler
	Brokers      []string // Kafka bootstrap servers
	Topic, Group string
	Partitions   int32
	LagThreshold float64
	// ConsumerRate is what one replica processes per second.
	ConsumerRate float64
	MaxReplicas  int32
	// Cooldown is KEDA's cooldownPeriod: inactive this long -> 0 replicas.
	Cooldown time.Duration
	// Behavior is the HPA's behavior (advanced.horizontalPodAutoscalerConfig
	// in the ScaledObject); nil uses the HPA's legacy rules.
	Behavior *hpa.Behavior
	Tick     time.Duration
	Phases   []Phase
	// Forever repeats the pattern until ctx ends.
	Forever bool
	Out     io.Writer
}

// Run drives the pattern and prints the live view. It returns once the last
// phase is over and the fleet is back at zero replicas (or ctx ends).
func Run(ctx context.Context, o Options) error {
	conn, err := grpc.NewClient(o.ScalerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial scaler: %w", err)
	}
	defer conn.Close()
	scaler := pb.NewExternalScalerClient(conn)

	kc, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...), kgo.DefaultProduceTopic(o.Topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer kc.Close()
	adm := kadm.NewClient(kc)

	ref := &pb.ScaledObjectRef{Name: "orders-consumer", Namespace: "demo", ScalerMetadata: map[string]string{
		"scalerAddress":    o.ScalerAddr,
		"source":           "kafka",
		"bootstrapServers": strings.Join(o.Brokers, ","),
		"consumerGroup":    o.Group,
		"topic":            o.Topic,
		"lagThreshold":     fmt.Sprint(o.LagThreshold),
	}}
	spec, err := scaler.GetMetricSpec(ctx, ref)
	if err != nil {
		return fmt.Errorf("GetMetricSpec: %w", err)
	}
	ms := spec.GetMetricSpecs()[0]
	fmt.Fprintf(o.Out, "Tide demo: topic %q (%d partitions), group %q, lagThreshold %g, %g msg/s per consumer, max %d replicas\n",
		o.Topic, o.Partitions, o.Group, o.LagThreshold, o.ConsumerRate, o.MaxReplicas)
	fmt.Fprintf(o.Out, "metric %q target %g; HPA model: pkg/hpa, AverageValue, %s; KEDA cooldown %s\n\n",
		ms.GetMetricName(), ms.GetTargetSizeFloat(), describe(o.Behavior), o.Cooldown)
	fmt.Fprintf(o.Out, "%6s  %-9s %9s %9s %7s %8s %8s %-6s %s\n",
		"time", "phase", "prod/s", "cons/s", "lag", "metric", "replicas", "active", "why")

	// The consumer group exists before the first message, as a deployed
	// consumer that joined and committed would leave it: every partition at
	// offset 0. Without it, "no committed offset" counts as lag 1 per
	// partition (KEDA's latest-policy semantics) and the demo would start active.
	fl := newFleet(adm, o.Topic, o.Group, o.Partitions, o.ConsumerRate)
	if err := fl.commitStart(ctx); err != nil {
		return err
	}
	st := &state{o: o, scaler: scaler, ref: ref, metricName: ms.GetMetricName(), target: ms.GetTargetSizeFloat(),
		fleet: fl, prod: &producer{cl: kc, topic: o.Topic}, adm: adm}
	t := time.NewTicker(o.Tick)
	defer t.Stop()
	start := time.Now()
	st.start = start
	for {
		elapsed := time.Since(start)
		phase, over := phaseAt(o.Phases, elapsed, o.Forever)
		if over && st.replicas == 0 {
			fmt.Fprintf(o.Out, "\ndone after %s: back at zero replicas; peak %d replicas, %d messages produced and consumed\n",
				elapsed.Round(time.Second), st.peak, st.consumedTotal)
			return nil
		}
		if err := st.tick(ctx, phase, elapsed); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// phaseAt returns the phase at elapsed and whether the pattern is over.
func phaseAt(ps []Phase, elapsed time.Duration, forever bool) (Phase, bool) {
	var total time.Duration
	for _, p := range ps {
		total += p.Duration
	}
	if forever && total > 0 {
		elapsed %= total
	}
	for _, p := range ps {
		if elapsed < p.Duration {
			return p, false
		}
		elapsed -= p.Duration
	}
	return Phase{Name: "idle"}, true
}

// state is what the demo keeps between ticks: the simulated KEDA + HPA.
type state struct {
	o          Options
	scaler     pb.ExternalScalerClient
	ref        *pb.ScaledObjectRef
	metricName string
	target     float64
	fleet      *fleet
	prod       *producer
	adm        *kadm.Client

	replicas      int32
	hpaState      hpa.State // the HPA controller's history between syncs
	start         time.Time
	lastActive    time.Duration
	peak          int32
	consumedTotal int64
}

func (s *state) tick(ctx context.Context, ph Phase, elapsed time.Duration) error {
	dt := s.o.Tick.Seconds()
	// Consumers work through the backlog, then this second's messages
	// arrive: the scaler sees what waits, as it would mid-stream.
	ends, err := endOffsets(ctx, s.adm, s.o.Topic)
	if err != nil {
		return err
	}
	consumed, err := s.fleet.step(ctx, int(s.replicas), dt, ends)
	if err != nil {
		return err
	}
	s.consumedTotal += consumed
	produced, err := s.prod.step(ctx, ph.Rate, dt)
	if err != nil {
		return err
	}
	if ends, err = endOffsets(ctx, s.adm, s.o.Topic); err != nil {
		return err
	}

	// What KEDA does every pollingInterval, and the HPA every sync. An
	// error changes nothing, as with KEDA and the HPA: the row says why.
	mv, err := s.scaler.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: s.ref, MetricName: s.metricName})
	var act *pb.IsActiveResponse
	if err == nil {
		act, err = s.scaler.IsActive(ctx, s.ref)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fmt.Fprintf(s.o.Out, "%5.0fs  %-9s %9.0f %9.0f %7d %8s %8d %-6s scaler error, replicas held: %v\n",
			elapsed.Seconds(), ph.Name, float64(produced)/dt, float64(consumed)/dt,
			s.fleet.totalLag(ends), "-", s.replicas, "-", status.Convert(err).Message())
		return nil
	}
	value := mv.GetMetricValues()[0].GetMetricValueFloat()
	before := s.replicas
	why := s.decide(value, act.GetResult(), elapsed)
	s.peak = max(s.peak, s.replicas)

	arrow := fmt.Sprintf("%d", s.replicas)
	if s.replicas != before {
		arrow = fmt.Sprintf("%d→%d", before, s.replicas)
	}
	fmt.Fprintf(s.o.Out, "%5.0fs  %-9s %9.0f %9.0f %7d %8.0f %8s %-6t %s\n",
		elapsed.Seconds(), ph.Name, float64(produced)/dt, float64(consumed)/dt,
		s.fleet.totalLag(ends), value, arrow, act.GetResult(), why)
	return nil
}

// decide applies KEDA's activation and the HPA's AverageValue arithmetic to
// the scaler's answers and says which rule set the replica count.
func (s *state) decide(value float64, active bool, elapsed time.Duration) string {
	if active {
		s.lastActive = elapsed
	}
	switch {
	case s.replicas == 0 && active:
		s.replicas = 1
		return "activated (KEDA 0→1)"
	case s.replicas == 0:
		return "idle at zero"
	case !active && elapsed-s.lastActive >= s.o.Cooldown:
		s.replicas = 0
		return fmt.Sprintf("inactive for cooldown %s (KEDA →0)", s.o.Cooldown)
	}
	// The HPA KEDA made: minReplicas 1 (KEDA owns 1→0), the scaler's
	// metric as an AverageValue target, the behavior the demo configures.
	// The demo's clock is real seconds since start.
	d := hpa.Sync(s.start.Add(elapsed),
		hpa.HPA{MinReplicas: 1, MaxReplicas: s.o.MaxReplicas, Behavior: s.o.Behavior},
		hpa.Current{Spec: s.replicas, Status: s.replicas, Ready: s.replicas},
		[]hpa.MetricInput{{Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: hpa.Milli(s.target)},
			Values: []int64{hpa.Milli(value)}}},
		&s.hpaState, hpa.DefaultConfig())
	want, why := d.Replicas, "HPA: "+string(d.Reason)
	if d.Desired != d.Replicas {
		why += fmt.Sprintf(" (metric asks for %d)", d.Desired)
	}
	if want >= s.o.Partitions && value >= float64(s.o.Partitions)*s.target {
		why += fmt.Sprintf(", metric capped at %d partitions", s.o.Partitions)
	}
	s.replicas = want
	return why
}

// describe summarises a behavior for the view's header.
func describe(b *hpa.Behavior) string {
	if b == nil {
		return "legacy rules (no behavior)"
	}
	full := hpa.Defaults(b, hpa.DefaultConfig())
	rules := func(r *hpa.Rules) string {
		out := fmt.Sprintf("window %ds", *r.StabilizationWindowSeconds)
		for _, p := range r.Policies {
			out += fmt.Sprintf(", %s %d per %ds", p.Type, p.Value, p.PeriodSeconds)
		}
		return out
	}
	return fmt.Sprintf("scaleUp [%s], scaleDown [%s]", rules(full.ScaleUp), rules(full.ScaleDown))
}
