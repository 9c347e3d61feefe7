package explaincmd

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

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/internal/app/kubeapp"
	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/internal/logbridge"
	"github.com/tide-scaler/tide/pkg/explain"
	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/migrate"
	"github.com/tide-scaler/tide/pkg/sources"
)

// HPAReader reads a ScaledObject's live HPA (kube.Lookup).
type HPAReader interface {
	Get(ctx context.Context, ref kube.Ref) (kube.Snapshot, error)
}

// ExplainHooks let a command adapt explain: the demo points the trigger at
// its embedded cluster.
type ExplainHooks struct {
	// Prepare runs after the flags are read, with the trigger's metadata,
	// which it may change; stop runs when explain returns.
	Prepare func(ctx context.Context, md map[string]string, stdout io.Writer) (stop func(), err error)
}

const explainSynopsis = `usage: scaler explain [flags]

Reads one trigger now, as serve would, and prints the sample, the metric
KEDA gets and the HPA model's next replica count with the rule that decides
it. The trigger comes from -m key=value flags or --file.

` + cli.ExitCodesHelp

// explainFlags are explain's flags; see register.
type explainFlags struct {
	md            metadataFlag
	file          string
	trigger       int
	name          string
	replicas      int
	minR, maxR    int
	behaviorFile  string
	metricType    string
	tolerance     float64
	gate          bool
	observe, poll time.Duration
	timeout       time.Duration
	scaledObject  string // namespace/name: read its HPA from the cluster
	kubeconfig    string
	log           cli.LogFlags
	policy        cli.PolicyFlags

	// hpas reads the live HPA with --scaledobject; set by Explain.
	hpas HPAReader
}

func (f *explainFlags) register(fs *flag.FlagSet) {
	f.md = metadataFlag{}
	fs.Var(f.md, "m", "trigger metadata as key=value, repeatable (e.g. -m source=kafka -m topic=orders); overrides --file")
	fs.StringVar(&f.file, "file", "", "YAML file, multi-document: a KEDA ScaledObject (other documents are skipped), or a document {metadata: {...}, hpa: {replicas, minReplicas, maxReplicas, metricType, behavior}}")
	fs.StringVar(&f.name, "name", "", "which ScaledObject of --file, when it holds several")
	fs.IntVar(&f.trigger, "trigger", 0, "which trigger of the ScaledObject, counting those Tide explains: external, external-push and KEDA's kafka, redis(-streams) and prometheus, which are converted and shown beside KEDA's arithmetic (0 = the first)")
	fs.IntVar(&f.replicas, "replicas", -1, "the workload's current replicas (default: the file's hpa.replicas, else 1)")
	fs.IntVar(&f.minR, "min-replicas", -1, "the HPA's minReplicas (default: the file's, else 1)")
	fs.IntVar(&f.maxR, "max-replicas", -1, "the HPA's maxReplicas (default: the file's, else KEDA's 100)")
	fs.StringVar(&f.behaviorFile, "behavior-file", "", "YAML autoscaling/v2 behavior (default: the file's, else the hpaBehavior key, else none: the HPA's legacy rules)")
	fs.StringVar(&f.metricType, "metric-type", "", "the trigger's metricType: AverageValue (KEDA's default) or Value")
	fs.Float64Var(&f.tolerance, "hpa-tolerance", 0.1, "the cluster's --horizontal-pod-autoscaler-tolerance, for the HPA model")
	fs.BoolVar(&f.gate, "hpa-configurable-tolerance", true, "whether the cluster's HPAConfigurableTolerance feature gate is on (Kubernetes 1.35 turns it on)")
	fs.DurationVar(&f.observe, "observe", 0, "poll this long before explaining, so rates and lag in seconds can be estimated")
	fs.DurationVar(&f.poll, "poll-interval", time.Second, "how often to poll while observing")
	fs.DurationVar(&f.timeout, "first-sample-timeout", 10*time.Second, "deadline of the first sample (and of reading the HPA with --scaledobject)")
	fs.StringVar(&f.scaledObject, "scaledobject", "", "namespace/name of a ScaledObject whose HPA to read from the cluster (current replicas, min, max, behavior, metric type); flags still override")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig for --scaledobject and Service discovery of inference triggers (default: the first file of $KUBECONFIG, else the pod's service account)")
	f.log.Register(fs)
	// explain's output is the explanation; the log only speaks up when
	// something is wrong, unless asked.
	f.log.Level, fs.Lookup("log-level").DefValue = "warn", "warn"
	f.policy.Register(fs)
}

// input merges the file, the hpaBehavior key and the flags, flags last.
func (f *explainFlags) input() (explain.Input, error) {
	in := explain.NewInput()
	if f.file != "" {
		if err := in.LoadFile(f.file, explain.Select{Name: f.name, Trigger: f.trigger}); err != nil {
			err = fmt.Errorf("--file: %w", err)
			var ce *metadata.ConfigError
			switch {
			case errors.As(err, &ce):
				return in, cli.TriggerError(err)
			case errors.Is(err, migrate.ErrPick):
				return in, cli.Usage(fmt.Errorf("%w (--name)", err))
			}
			return in, err
		}
	}
	for k, v := range f.md {
		in.Metadata[k] = v
	}
	if f.behaviorFile != "" {
		b, err := os.ReadFile(f.behaviorFile)
		if err != nil {
			return in, fmt.Errorf("--behavior-file: %w", err)
		}
		if in.HPA.Behavior, err = hpa.ParseBehavior(b); err != nil {
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
	if err := errors.Join(set(&in.Current, f.replicas, "replicas", 0), set(&in.HPA.MinReplicas, f.minR, "min-replicas", 0),
		set(&in.HPA.MaxReplicas, f.maxR, "max-replicas", 1)); err != nil {
		return in, cli.Usage(err)
	}
	if in.Current < 0 {
		in.Current = 1
	}
	if in.HPA.MinReplicas > in.HPA.MaxReplicas {
		return in, cli.Usage(fmt.Errorf("minReplicas %d is above maxReplicas %d", in.HPA.MinReplicas, in.HPA.MaxReplicas))
	}
	if f.metricType != "" {
		in.Target = hpa.TargetType(f.metricType)
	}
	switch in.Target {
	case "":
		in.Target = hpa.AverageValue
	case hpa.AverageValue, hpa.Value:
	default:
		return in, cli.Usage(fmt.Errorf("metricType %q: want AverageValue or Value", in.Target))
	}
	if f.tolerance < 0 || f.tolerance != f.tolerance {
		return in, cli.Usage(fmt.Errorf("--hpa-tolerance %v: must not be negative", f.tolerance))
	}
	return in, nil
}

// Explain is the explain command: it reads one trigger now and prints the
// sample, the metric sent and the HPA model's next replica count with the
// rule that decides it.
func Explain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, hooks ExplainHooks) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f explainFlags
	f.register(fs)
	if err := cli.ParseFlags(fs, args, getenv, stdout, explainSynopsis); err != nil {
		return err
	}
	logger, err := f.log.Logger(stderr)
	if err != nil {
		return cli.Usage(err)
	}
	logbridge.Install(logger)
	in, err := f.input()
	if err != nil {
		return err
	}
	if hooks.Prepare != nil {
		stop, err := hooks.Prepare(ctx, in.Metadata, stdout)
		if err != nil {
			return err
		}
		defer stop()
	}
	if len(in.Metadata) == 0 {
		return cli.Usage(errors.New("no trigger metadata: give -m key=value flags or --file"))
	}
	kc := kubeapp.NewKube(cli.Kubeconfig(f.kubeconfig, getenv))
	if f.scaledObject != "" {
		clients, err := kc.Clients()
		if err != nil {
			return fmt.Errorf("--scaledobject: %w", err)
		}
		f.hpas = kube.NewLookup(clients.Kube, clients.Dynamic, clients.Mapper, kube.Options{Logger: logger})
	}
	return run(ctx, f, in, kc, logger, stdout)
}

// run reads the trigger through a real engine, with the registry and
// environment serve builds, and prints what the scaler would send and what
// the HPA model does with it.
func run(ctx context.Context, f explainFlags, in explain.Input, kc *kubeapp.Kube, logger *slog.Logger, stdout io.Writer) error {
	opts, err := f.policy.Options()
	if err != nil {
		return cli.Usage(err)
	}
	disc := kubeapp.NewDiscovery(kc)
	defer disc.Close()
	env := app.NewEnvironment(disc, opts, nil, time.Now)
	reg := env.Registry()
	eng := sources.NewEngine(sources.Options{PollInterval: f.poll, FirstSampleTimeout: f.timeout,
		Metrics: metrics.New(prometheus.NewRegistry()), Logger: logger})
	defer eng.Close()
	read := func() (explain.Explanation, error) {
		rctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		e, err := explain.Explain(rctx, reg, eng, in.Metadata)
		return e, cli.TriggerError(err)
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
		in = explain.FromCluster(in, s, e, explain.Given{Replicas: f.replicas >= 0, MinReplicas: f.minR >= 0,
			MaxReplicas: f.maxR >= 0, Behavior: f.behaviorFile != "", MetricType: f.metricType != ""})
	}
	if in.HPA.Behavior == nil {
		in.HPA.Behavior = e.Options.Behavior
	}
	cfg := hpa.DefaultConfig()
	cfg.Tolerance, cfg.ConfigurableTolerance = f.tolerance, f.gate
	d := explain.Predict(time.Now(), in, e, cfg)
	explain.Print(stdout, in, e, d, cfg)
	if in.KEDA != nil {
		explain.PrintMigration(stdout, time.Now(), in, e, cfg)
	}
	if snap != nil {
		explain.PrintClusterWarnings(stdout, *snap, e, f.poll)
	}
	return nil
}

// readHPA reads the HPA of --scaledobject namespace/name.
func (f explainFlags) readHPA(ctx context.Context, e explain.Explanation) (kube.Snapshot, error) {
	ns, name, ok := strings.Cut(f.scaledObject, "/")
	if !ok || ns == "" || name == "" {
		return kube.Snapshot{}, cli.Usage(fmt.Errorf("--scaledobject %q: want namespace/name", f.scaledObject))
	}
	rctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	return f.hpas.Get(rctx, kube.Ref{Namespace: ns, ScaledObject: name, HPAName: e.Options.HPAName})
}

// metadataFlag collects repeated -m key=value flags.
type metadataFlag map[string]string

func (m metadataFlag) String() string { return "" }

func (m metadataFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	m[strings.TrimSpace(k)] = v
	return nil
}

// Run is explain as scaler-kube runs it: Explain with no hooks.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return Explain(ctx, args, getenv, stdout, stderr, ExplainHooks{})
}
