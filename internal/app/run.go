package app

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tide-scaler/tide/internal/version"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/status"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
)

// Config is everything the serving process takes.
type Config struct {
	GRPCAddr, HTTPAddr string
	// GRPCTLS and HTTPTLS, when set, serve TLS (see server.Config).
	GRPCTLS, HTTPTLS *tls.Config
	Engine           sources.Options
	ShutdownTimeout  time.Duration
	IdleTriggerTTL   time.Duration
	StreamRepeat     time.Duration
	MaxTriggers      int
	MaxStreams       int // per client connection
	// Sources is the operator's policy for triggers: files and upstreams.
	Sources builtin.Options
	// PushToken, when set, mounts POST /v1/push for inference triggers,
	// and POST /v1/push/forwarded for the pushes peer replicas forward.
	PushToken []byte
	// Peers, when set with PushToken, are the other replicas this one
	// forwards the pushes it accepts to (a static list, or the replicas of
	// its own Service from internal/app/kubeapp).
	Peers inference.PeerSource
	// Discovery, when set, follows Services for inference triggers with
	// `service` (without it they are refused). It and the two hooks below
	// come from the Kubernetes build (internal/app/kubeapp), so a process
	// without them links no Kubernetes client.
	Discovery inference.Discovery
	// Awareness, when set, builds HPA awareness with the process's metrics:
	// it observes what the gRPC service sends and predicts each
	// ScaledObject's HPA.
	Awareness func(*metrics.Metrics) (Awareness, error)
	// Beside, when set, runs beside the gRPC server with the process's
	// trigger cache (the external metrics API and the standalone loops);
	// the first of the two to fail stops the other.
	Beside func(ctx context.Context, cache *trigger.Cache) error
	// Status configures the status page on the HTTP port.
	Status StatusPage
}

// Awareness predicts, per ScaledObject, what its HPA does with the values
// the gRPC service sends (pkg/awareness, adapted by internal/app/kubeapp).
type Awareness interface {
	server.Observer
	// Predicted is the HPA's predicted replicas and the rule that decides
	// them; ok is false before the first prediction.
	Predicted(o trigger.Owner) (replicas int32, rule string, ok bool)
	// Run reads HPAs and runs the model until ctx ends.
	Run(ctx context.Context, now func() time.Time)
}

// StatusPage configures GET /status (pkg/status).
type StatusPage struct {
	// Off leaves the page out.
	Off bool
	// Span and Step shape its charts: the last Span in points of Step
	// (defaults 3 h and 1 m).
	Span, Step time.Duration
}

// Run serves until ctx ends and everything has drained. started, when not
// nil, is called with the bound server once it listens.
func Run(ctx context.Context, cfg Config, log *slog.Logger, started func(*server.Server)) error {
	reg := prometheus.NewRegistry()
	met := RegisterMetrics(reg)
	build := version.Get()

	cfg.Engine.Metrics, cfg.Engine.Logger = met, log
	eng := sources.NewEngine(cfg.Engine)
	defer eng.Close()
	var fwd *inference.Forwarder
	if cfg.Peers != nil && len(cfg.PushToken) > 0 {
		var err error
		if fwd, err = inference.NewForwarder(inference.ForwarderOptions{Peers: cfg.Peers, Token: cfg.PushToken,
			Registerer: reg, Logger: log}); err != nil {
			return err
		}
	}
	env := newEnvironment(cfg.Discovery, cfg.Sources, cfg.PushToken, fwd, time.Now)
	cache := trigger.NewCache(trigger.CacheConfig{Registry: env.Registry(), Reader: eng, Max: cfg.MaxTriggers,
		Size: met.Triggers, Logger: log})
	defer cache.Close()

	// The background loops stop (cancel) before they are waited for, on
	// every return, an early error included.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if fwd != nil {
		wg.Go(func() { fwd.Run(ctx) })
	}
	var observer server.Observer
	var predict func(trigger.Owner) (int32, string, bool)
	if cfg.Awareness != nil {
		a, err := cfg.Awareness(met)
		if err != nil {
			return err
		}
		observer, predict = a, a.Predicted
		wg.Go(func() { a.Run(ctx, time.Now) })
	}
	handlers := maps.Clone(env.Handlers)
	if !cfg.Status.Off {
		page, err := status.New(status.Config{Triggers: cache, Samples: eng, Predict: predict,
			Every: cfg.Engine.PollInterval, Step: cfg.Status.Step, Span: cfg.Status.Span})
		if err != nil {
			return err
		}
		if handlers == nil {
			handlers = map[string]http.Handler{}
		}
		handlers[status.Pattern] = page
		wg.Go(func() { page.Run(ctx) })
	}

	srv, err := server.New(server.Config{
		GRPCAddr: cfg.GRPCAddr, HTTPAddr: cfg.HTTPAddr, GRPCTLS: cfg.GRPCTLS, HTTPTLS: cfg.HTTPTLS,
		ShutdownTimeout: cfg.ShutdownTimeout, IdleTriggerTTL: cfg.IdleTriggerTTL,
		Service: server.ServiceConfig{Triggers: cache, Metrics: met, StreamRepeat: cfg.StreamRepeat,
			MaxStreamsPerClient: cfg.MaxStreams, Observer: observer},
		Gatherer: reg, Handlers: handlers, Logger: log, Version: build.Version, Revision: build.Revision,
	})
	if err != nil {
		return err
	}
	if started != nil {
		started(srv)
	}
	if cfg.Beside == nil {
		return srv.Run(ctx)
	}
	// Without KEDA: the external metrics API and the leader's loops run
	// beside the gRPC server; the first to fail stops the others.
	besideErr := make(chan error, 1)
	go func() {
		defer cancel()
		besideErr <- cfg.Beside(ctx, cache)
	}()
	runErr := srv.Run(ctx)
	cancel()
	return errors.Join(runErr, <-besideErr)
}

// RegisterMetrics registers with reg everything the process exports on
// /metrics: the Go runtime and process collectors, Tide's own metrics and
// tide_build_info. deploy/observability's test reads what the dashboard and
// alerts may name from it.
func RegisterMetrics(reg prometheus.Registerer) *metrics.Metrics {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	met := metrics.New(reg)
	build := version.Get()
	metrics.RegisterBuildInfo(reg, build.Version, build.Revision, build.GoVersion)
	return met
}
