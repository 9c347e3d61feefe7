package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tide-scaler/tide/pkg/hpa"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// Phase is one stretch of the traffic pattern.
type Phase struct {
	Name     string
	Duration time.Duration
	Rate     float64 // messages produced per second (before a workload's RateScale)
}

// DefaultPhases is idle → burst → sustained → drain → idle. The burst asks
// for more Kafka consumers than the topic has partitions, so the view shows
// the partition cap at work.
var DefaultPhases = []Phase{
	{"idle", 5 * time.Second, 0},
	{"burst", 12 * time.Second, 1500},
	{"sustained", 25 * time.Second, 300},
	{"drain", 20 * time.Second, 0},
	{"idle", 20 * time.Second, 0},
}

// Options configure a demo run.
type Options struct {
	ScalerAddr string // gRPC address of a running scaler
	Kafka      *KafkaOptions
	Redis      *RedisOptions
	Inference  *InferenceOptions
	// MaxReplicas is every ScaledObject's maxReplicaCount.
	MaxReplicas int32
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
	// Picture, if set, is where Run writes its picture at the end: a
	// self-contained HTML page of backlog, replicas and the rule that set
	// them, per workload (writePicture).
	Picture string
}

// Run drives the pattern and prints the live view. It returns once the last
// phase is over and every fleet is back at zero replicas (or ctx ends).
func Run(ctx context.Context, o Options) error {
	conn, err := grpc.NewClient(o.ScalerAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial scaler: %w", err)
	}
	defer conn.Close()
	scaler := pb.NewExternalScalerClient(conn)

	var loads []workload
	defer func() {
		for _, w := range loads {
			w.Close()
		}
	}()
	if o.Kafka != nil {
		w, err := newKafkaWorkload(ctx, *o.Kafka)
		if err != nil {
			return err
		}
		loads = append(loads, w)
	}
	if o.Redis != nil {
		loads = append(loads, newRedisWorkload(*o.Redis))
	}
	if o.Inference != nil {
		if int32(o.Inference.Pods) < o.MaxReplicas {
			return fmt.Errorf("demo: the inference pool has %d pods, fewer than MaxReplicas %d", o.Inference.Pods, o.MaxReplicas)
		}
		w, err := newInferenceWorkload(*o.Inference)
		if err != nil {
			return err
		}
		loads = append(loads, w)
	}
	if len(loads) == 0 {
		return errors.New("demo: no workload configured")
	}

	fmt.Fprintf(o.Out, "Tide demo: HPA model pkg/hpa (AverageValue; %s), KEDA cooldown %s, max %d replicas\n",
		describe(o.Behavior), o.Cooldown, o.MaxReplicas)
	start := time.Now()
	sos := make([]*scaledObject, len(loads))
	for i, w := range loads {
		if sos[i], err = newScaledObject(ctx, scaler, o, w, start); err != nil {
			return err
		}
		for _, tr := range sos[i].triggers {
			fmt.Fprintf(o.Out, "  %-16s metric %q, target %g per replica (%s)\n", w.Name(), tr.metricName, tr.target, tr.label)
		}
		if _, ok := w.(explainer); ok {
			fmt.Fprintf(o.Out, "  %-16s the KPA rule shown is the demo's own evaluation of the same triggers (KEDA's protocol carries no reason)\n", w.Name())
		}
	}
	fmt.Fprintf(o.Out, "\n%6s  %-9s %-16s %8s %8s %8s %8s %8s %-6s %s\n",
		"time", "phase", "workload", "prod/s", "cons/s", "backlog", "metric", "replicas", "active", "why")

	t := time.NewTicker(o.Tick)
	defer t.Stop()
	for {
		elapsed := time.Since(start)
		phase, over := phaseAt(o.Phases, elapsed, o.Forever)
		if over && allIdle(sos) {
			fmt.Fprintf(o.Out, "\ndone after %s: every workload back at zero replicas\n", elapsed.Round(time.Second))
			for _, so := range sos {
				fmt.Fprintf(o.Out, "  %-16s peak %d replicas, %d messages consumed\n", so.w.Name(), so.peak, so.consumed)
			}
			for _, so := range sos {
				if sm, ok := so.w.(summarizer); ok {
					for _, l := range sm.Summary() {
						fmt.Fprintf(o.Out, "  %-16s %s\n", so.w.Name(), l)
					}
				}
			}
			return savePicture(o, sos)
		}
		for _, so := range sos {
			if err := so.tick(ctx, phase, elapsed); err != nil {
				return err
			}
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

func allIdle(sos []*scaledObject) bool {
	for _, so := range sos {
		if so.replicas != 0 {
			return false
		}
	}
	return true
}

// savePicture writes o.Picture, if set, and says where it is.
func savePicture(o Options, sos []*scaledObject) error {
	if o.Picture == "" {
		return nil
	}
	names := make([]string, len(sos))
	data := make(map[string][]point, len(sos))
	for i, so := range sos {
		names[i] = so.w.Name()
		data[names[i]] = so.points
	}
	f, err := os.Create(o.Picture)
	if err != nil {
		return fmt.Errorf("demo picture: %w", err)
	}
	if err := writePicture(f, "Tide demo", o.Phases, names, data); err != nil {
		f.Close()
		return fmt.Errorf("demo picture %s: %w", o.Picture, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("demo picture %s: %w", o.Picture, err)
	}
	fmt.Fprintf(o.Out, "\npicture of this run (backlog, replicas, the rule that set them): %s\n", o.Picture)
	return nil
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

// describe summarises a behavior for the view's header.
func describe(b *hpa.Behavior) string {
	if b == nil {
		return "legacy rules, no behavior"
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
