package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
)

// explainFlags are explain's flags; see register.
type explainFlags struct {
	md            metadataFlag
	file          string
	trigger       int
	replicas      int
	minR, maxR    int
	behaviorFile  string
	metricType    string
	tolerance     float64
	gate          bool
	observe, poll time.Duration
	timeout       time.Duration
	demo          bool
	scaledObject  string // namespace/name: read its HPA from the cluster
	aware         awareFlags
	log           logFlags

	// hpas reads the live HPA with --scaledobject; set by runExplain.
	hpas server.HPAReader
}

func (f *explainFlags) register(fs *flag.FlagSet) {
	f.md = metadataFlag{}
	fs.Var(f.md, "m", "trigger metadata as key=value, repeatable (e.g. -m source=kafka -m topic=orders); overrides --file")
	fs.StringVar(&f.file, "file", "", "YAML file: a KEDA ScaledObject, or a document {metadata: {...}, hpa: {replicas, minReplicas, maxReplicas, metricType, behavior}}")
	fs.IntVar(&f.trigger, "trigger", 0, "which external trigger of a ScaledObject file (0 = the first)")
	fs.IntVar(&f.replicas, "replicas", -1, "the workload's current replicas (default: the file's hpa.replicas, else 1)")
	fs.IntVar(&f.minR, "min-replicas", -1, "the HPA's minReplicas (default: the file's, else 1)")
	fs.IntVar(&f.maxR, "max-replicas", -1, "the HPA's maxReplicas (default: the file's, else KEDA's 100)")
	fs.StringVar(&f.behaviorFile, "behavior-file", "", "YAML autoscaling/v2 behavior (default: the file's, else the hpaBehavior key, else none: the HPA's legacy rules)")
	fs.StringVar(&f.metricType, "metric-type", "", "the trigger's metricType: AverageValue (KEDA's default) or Value")
	fs.Float64Var(&f.tolerance, "tolerance", 0.1, "kube-controller-manager's --horizontal-pod-autoscaler-tolerance")
	fs.BoolVar(&f.gate, "configurable-tolerance", true, "whether the HPAConfigurableTolerance gate is on (default on since Kubernetes 1.35)")
	fs.DurationVar(&f.observe, "observe", 0, "poll this long before explaining, so rates and lag in seconds can be estimated")
	fs.DurationVar(&f.poll, "poll-interval", time.Second, "how often to poll while observing")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "deadline of the first sample")
	fs.BoolVar(&f.demo, "demo", false, "explain a Kafka trigger against an embedded cluster with known lag; other flags still apply")
	fs.StringVar(&f.scaledObject, "scaledobject", "", "namespace/name of a ScaledObject whose HPA to read from the cluster (current replicas, min, max, behavior, metric type); flags still override")
	fs.StringVar(&f.aware.kubeconfig, "kubeconfig", "", "kubeconfig for --scaledobject (default: the pod's service account)")
	f.log.register(fs)
}

// input merges the file, the hpaBehavior key and the flags, flags last.
func (f *explainFlags) input() (explainInput, error) {
	in := explainInput{metadata: map[string]string{}, current: -1, hpa: hpa.HPA{MinReplicas: 1, MaxReplicas: 100}}
	if f.file != "" {
		if err := in.loadFile(f.file, f.trigger); err != nil {
			return in, err
		}
	}
	for k, v := range f.md {
		in.metadata[k] = v
	}
	if f.behaviorFile != "" {
		b, err := os.ReadFile(f.behaviorFile)
		if err != nil {
			return in, fmt.Errorf("--behavior-file: %w", err)
		}
		if in.hpa.Behavior, err = hpa.ParseBehavior(b); err != nil {
			return in, fmt.Errorf("--behavior-file %s: %w", f.behaviorFile, err)
		}
	}
	set := func(dst *int32, v int, name string, least int) error {
		if v == -1 {
			return nil
		}
		if v < least || v > 1<<30 {
			return fmt.Errorf("--%s %d: must be at least %d", name, v, least)
		}
		*dst = int32(v)
		return nil
	}
	if err := errors.Join(set(&in.current, f.replicas, "replicas", 0), set(&in.hpa.MinReplicas, f.minR, "min-replicas", 0),
		set(&in.hpa.MaxReplicas, f.maxR, "max-replicas", 1)); err != nil {
		return in, err
	}
	if in.current < 0 {
		in.current = 1
	}
	if in.hpa.MinReplicas > in.hpa.MaxReplicas {
		return in, fmt.Errorf("minReplicas %d is above maxReplicas %d", in.hpa.MinReplicas, in.hpa.MaxReplicas)
	}
	if f.metricType != "" {
		in.target = hpa.TargetType(f.metricType)
	}
	switch in.target {
	case "":
		in.target = hpa.AverageValue
	case hpa.AverageValue, hpa.Value:
	default:
		return in, fmt.Errorf("metricType %q: want AverageValue or Value", in.target)
	}
	if f.tolerance < 0 || f.tolerance != f.tolerance {
		return in, fmt.Errorf("--tolerance %v: must not be negative", f.tolerance)
	}
	return in, nil
}

func runExplain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f explainFlags
	f.register(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	f.log.level = "warn"
	logger, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	in, err := f.input()
	if err != nil {
		return err
	}
	if f.demo {
		cluster, err := startExplainDemo(ctx, in.metadata)
		if err != nil {
			return err
		}
		defer cluster.Close()
		fmt.Fprintf(stdout, "embedded Kafka at %v: topic orders, 12 partitions, group orders-consumer with known lag\n\n", cluster.ListenAddrs())
	}
	if len(in.metadata) == 0 {
		return errors.New("no trigger metadata: give -m key=value flags, --file, or --demo")
	}
	if f.scaledObject != "" {
		if f.hpas, err = f.aware.lookup(logger); err != nil {
			return err
		}
	}
	return explain(ctx, f, in, logger, stdout)
}

// explain reads the trigger through a real engine and prints what the
// scaler would send and what the HPA model does with it.
func explain(ctx context.Context, f explainFlags, in explainInput, logger *slog.Logger, stdout io.Writer) error {
	eng := sources.NewEngine(sources.Options{PollInterval: f.poll, FirstSampleTimeout: f.timeout,
		Metrics: metrics.New(prometheus.NewRegistry()), Logger: logger})
	defer eng.Close()
	read := func() (server.Explanation, error) {
		rctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		return server.Explain(rctx, eng, server.DefaultParsers(), in.metadata)
	}
	e, err := read()
	if err != nil {
		return err
	}
	// Observing keeps the query polled; each poll feeds the rate estimates.
	if f.observe > 0 {
		deadline := time.NewTimer(f.observe)
		defer deadline.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
		}
		if e, err = read(); err != nil {
			return err
		}
	}
	var snap *kube.Snapshot
	if f.scaledObject != "" {
		s, err := f.readHPA(ctx, e)
		if err != nil {
			return err
		}
		snap = &s
		in = f.fromCluster(in, s, e)
	}
	if in.hpa.Behavior == nil {
		in.hpa.Behavior = e.Options.Behavior
	}
	cfg := hpa.DefaultConfig()
	cfg.Tolerance, cfg.ConfigurableTolerance = f.tolerance, f.gate
	d := predict(time.Now(), in, e, cfg)
	printExplanation(stdout, in, e, d, cfg)
	if snap != nil {
		printClusterWarnings(stdout, *snap, e, f.poll)
	}
	return nil
}

// readHPA reads the HPA of --scaledobject namespace/name.
func (f explainFlags) readHPA(ctx context.Context, e server.Explanation) (kube.Snapshot, error) {
	ns, name, ok := strings.Cut(f.scaledObject, "/")
	if !ok || ns == "" || name == "" {
		return kube.Snapshot{}, fmt.Errorf("--scaledobject %q: want namespace/name", f.scaledObject)
	}
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	return f.hpas.Get(rctx, kube.Ref{Namespace: ns, ScaledObject: name, HPAName: e.Options.HPAName})
}

// fromCluster takes the HPA's spec, replicas and metric type from the
// cluster, except where a flag was given.
func (f explainFlags) fromCluster(in explainInput, s kube.Snapshot, e server.Explanation) explainInput {
	if f.replicas < 0 {
		in.current = s.Current.Spec
	}
	if f.minR < 0 {
		in.hpa.MinReplicas = s.HPA.MinReplicas
	}
	if f.maxR < 0 {
		in.hpa.MaxReplicas = s.HPA.MaxReplicas
	}
	if f.behaviorFile == "" {
		in.hpa.Behavior = s.HPA.Behavior
	}
	if f.metricType == "" {
		for _, m := range s.Metrics {
			if kube.StripIndex(m.Name) == e.MetricName {
				in.target = m.Target.Type
			}
		}
	}
	return in
}

// predict runs the HPA model one sync forward from a controller that has
// held the current count for longer than any window, so the answer shows
// the rules that apply to this value, not a freshly restarted controller's
// history.
func predict(now time.Time, in explainInput, e server.Explanation, cfg hpa.Config) hpa.Decision {
	st := &hpa.State{Recommendations: []hpa.Recommendation{{Replicas: in.current, Time: now.Add(-2 * time.Hour)}}}
	m := hpa.MetricInput{Target: hpa.MetricTarget{Type: in.target, Milli: hpa.Milli(e.Target)}, Values: []int64{hpa.Milli(e.Value)}}
	cur := hpa.Current{Spec: in.current, Status: in.current, Ready: in.current}
	return hpa.Sync(now, in.hpa, cur, []hpa.MetricInput{m}, st, cfg)
}
