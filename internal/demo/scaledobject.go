package demo

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/pkg/hpa"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// scaledObject simulates what KEDA and the HPA it creates do with the
// scaler's answers for one workload: KEDA owns 0 ↔ 1 from IsActive and its
// cooldown, the HPA owns 1 ↔ N from GetMetrics (pkg/hpa's full model).
type scaledObject struct {
	o          Options
	w          workload
	scaler     pb.ExternalScalerClient
	ref        *pb.ScaledObjectRef
	metricName string
	target     float64
	start      time.Time

	replicas   int32
	hpaState   hpa.State // the HPA controller's history between syncs
	lastActive time.Duration
	peak       int32
	consumed   int64
}

func newScaledObject(ctx context.Context, scaler pb.ExternalScalerClient, o Options, w workload, start time.Time) (*scaledObject, error) {
	md := w.Metadata()
	md["scalerAddress"] = o.ScalerAddr
	ref := &pb.ScaledObjectRef{Name: w.Name(), Namespace: "demo", ScalerMetadata: md}
	spec, err := scaler.GetMetricSpec(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("%s: GetMetricSpec: %w", w.Name(), err)
	}
	ms := spec.GetMetricSpecs()[0]
	return &scaledObject{o: o, w: w, scaler: scaler, ref: ref, start: start,
		metricName: ms.GetMetricName(), target: ms.GetTargetSizeFloat()}, nil
}

func (s *scaledObject) tick(ctx context.Context, ph Phase, elapsed time.Duration) error {
	dt := s.o.Tick.Seconds()
	produced, consumed, backlog, err := s.w.Step(ctx, s.replicas, ph.Rate, dt)
	if err != nil {
		return fmt.Errorf("%s: %w", s.w.Name(), err)
	}
	s.consumed += consumed
	row := func(metric, replicas, active, why string) {
		fmt.Fprintf(s.o.Out, "%5.0fs  %-9s %-16s %8.0f %8.0f %8d %8s %8s %-6s %s\n",
			elapsed.Seconds(), ph.Name, s.w.Name(), float64(produced)/dt, float64(consumed)/dt,
			backlog, metric, replicas, active, why)
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
		row("-", fmt.Sprint(s.replicas), "-", "scaler error, replicas held: "+status.Convert(err).Message())
		return nil
	}
	value := mv.GetMetricValues()[0].GetMetricValueFloat()
	before := s.replicas
	why := s.decide(value, act.GetResult(), elapsed)
	s.peak = max(s.peak, s.replicas)
	arrow := fmt.Sprint(s.replicas)
	if s.replicas != before {
		arrow = fmt.Sprintf("%d→%d", before, s.replicas)
	}
	row(fmt.Sprintf("%.0f", value), arrow, fmt.Sprint(act.GetResult()), why)
	return nil
}

// decide applies KEDA's activation and the HPA's arithmetic to the scaler's
// answers and says which rule set the replica count.
func (s *scaledObject) decide(value float64, active bool, elapsed time.Duration) string {
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
	// The HPA KEDA made: minReplicas 1 (KEDA owns 1→0), the scaler's metric
	// as an AverageValue target. The demo's clock is real time since start.
	d := hpa.Sync(s.start.Add(elapsed),
		hpa.HPA{MinReplicas: 1, MaxReplicas: s.o.MaxReplicas, Behavior: s.o.Behavior},
		hpa.Current{Spec: s.replicas, Status: s.replicas, Ready: s.replicas},
		[]hpa.MetricInput{{Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: hpa.Milli(s.target)},
			Values: []int64{hpa.Milli(value)}}},
		&s.hpaState, hpa.DefaultConfig())
	why := "HPA: " + string(d.Reason)
	if d.Desired != d.Replicas {
		why += fmt.Sprintf(" (metric asks for %d)", d.Desired)
	}
	if n := s.w.Partitions(); n > 0 && d.Replicas >= n && value >= float64(n)*s.target {
		why += fmt.Sprintf(", metric capped at %d partitions", n)
	}
	s.replicas = d.Replicas
	return why
}
