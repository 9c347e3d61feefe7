package demo

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/pkg/hpa"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// scaledObject simulates what KEDA and the HPA it creates do with the
// scaler's answers for one workload: KEDA owns 0 ↔ 1 from IsActive and its
// cooldown, the HPA owns 1 ↔ N from GetMetrics (pkg/hpa's full model).
type scaledObject struct {
	o        Options
	w        workload
	scaler   pb.ExternalScalerClient
	triggers []trigger
	start    time.Time

	replicas   int32
	hpaState   hpa.State // the HPA controller's history between syncs
	lastActive time.Duration
	peak       int32
	points     []point // what the picture draws
	consumed   int64
}

// trigger is one of the ScaledObject's triggers. KEDA sends each trigger's
// own metadata under the same ScaledObject name.
type trigger struct {
	label      string // for the view: the trigger's mode or source
	ref        *pb.ScaledObjectRef
	metricName string
	target     float64
}

func newScaledObject(ctx context.Context, scaler pb.ExternalScalerClient, o Options, w workload, start time.Time) (*scaledObject, error) {
	so := &scaledObject{o: o, w: w, scaler: scaler, start: start}
	for _, md := range w.Triggers() {
		md["scalerAddress"] = o.ScalerAddr
		ref := &pb.ScaledObjectRef{Name: w.Name(), Namespace: "demo", ScalerMetadata: md}
		spec, err := scaler.GetMetricSpec(ctx, ref)
		if err != nil {
			return nil, fmt.Errorf("%s: GetMetricSpec: %w", w.Name(), err)
		}
		ms := spec.GetMetricSpecs()[0]
		label := md["mode"]
		if label == "" {
			label = md["source"]
		}
		so.triggers = append(so.triggers, trigger{label: label, ref: ref, metricName: ms.GetMetricName(), target: ms.GetTargetSizeFloat()})
	}
	return so, nil
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

	// What KEDA does every pollingInterval, and the HPA every sync, for each
	// trigger. A trigger that errors counts as inactive for KEDA and as a
	// failed metric for the HPA; when all error nothing changes, as with
	// KEDA and the HPA: the row says why.
	values := make([]float64, len(s.triggers))
	failed := make([]bool, len(s.triggers))
	active, nFailed := false, 0
	var firstErr error
	var notes []string
	for i, tr := range s.triggers {
		mv, err := s.scaler.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: tr.ref, MetricName: tr.metricName})
		var act *pb.IsActiveResponse
		if err == nil {
			act, err = s.scaler.IsActive(ctx, tr.ref)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed[i], nFailed = true, nFailed+1
			firstErr = cmp.Or(firstErr, err)
			notes = append(notes, tr.label+" trigger unreadable")
			continue
		}
		values[i] = mv.GetMetricValues()[0].GetMetricValueFloat()
		active = active || act.GetResult()
	}
	explain := ""
	if e, ok := s.w.(explainer); ok {
		explain = e.Explain(ctx, values, failed)
	}
	if nFailed == len(s.triggers) {
		why := "scaler error, replicas held: " + status.Convert(firstErr).Message()
		s.points = append(s.points, point{elapsed.Seconds(), backlog, s.replicas, rule(why)})
		row("-", fmt.Sprint(s.replicas), "-", why)
		return nil
	}
	before := s.replicas
	why := s.decide(values, failed, active, elapsed)
	s.peak = max(s.peak, s.replicas)
	s.points = append(s.points, point{elapsed.Seconds(), backlog, s.replicas, rule(why)})
	arrow := fmt.Sprint(s.replicas)
	if s.replicas != before {
		arrow = fmt.Sprintf("%d→%d", before, s.replicas)
	}
	metric := make([]string, len(values))
	for i, v := range values {
		metric[i] = fmt.Sprintf("%.0f", v)
		if failed[i] {
			metric[i] = "-"
		}
	}
	if explain != "" {
		notes = append(notes, explain)
	}
	if len(notes) > 0 {
		why += "; " + strings.Join(notes, "; ")
	}
	row(strings.Join(metric, "/"), arrow, fmt.Sprint(active), why)
	return nil
}

// decide applies KEDA's activation and the HPA's arithmetic to the scaler's
// answers and says which rule set the replica count.
func (s *scaledObject) decide(values []float64, failed []bool, active bool, elapsed time.Duration) string {
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
	// The HPA KEDA made: minReplicas 1 (KEDA owns 1→0), one AverageValue
	// metric per trigger (the HPA follows the largest proposal). The demo's
	// clock is real time since start.
	metrics := make([]hpa.MetricInput, len(values))
	top := 0.0
	for i, v := range values {
		metrics[i] = hpa.MetricInput{Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: hpa.Milli(s.triggers[i].target)},
			Values: []int64{hpa.Milli(v)}, Failed: failed[i]}
		if !failed[i] {
			top = max(top, v/s.triggers[i].target)
		}
	}
	d := hpa.Sync(s.start.Add(elapsed),
		hpa.HPA{MinReplicas: 1, MaxReplicas: s.o.MaxReplicas, Behavior: s.o.Behavior},
		hpa.Current{Spec: s.replicas, Status: s.replicas, Ready: s.replicas},
		metrics, &s.hpaState, hpa.DefaultConfig())
	why := "HPA: " + string(d.Reason)
	if d.Desired != d.Replicas {
		why += fmt.Sprintf(" (metric asks for %d)", d.Desired)
	}
	if n := s.w.Partitions(); n > 0 && d.Replicas >= n && top >= float64(n) {
		why += fmt.Sprintf(", metric capped at %d partitions", n)
	}
	s.replicas = d.Replicas
	return why
}
