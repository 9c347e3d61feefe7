package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/sources/inference/discovery"
)

// serveConfig is everything `scaler serve` takes.
type serveConfig struct {
	grpcAddr, httpAddr string
	tls                server.TLSFiles
	httpTLS            httpTLSFlags
	engine             sources.Options
	shutdownTimeout    time.Duration
	idleTriggerTTL     time.Duration
	streamRepeat       time.Duration
	maxTriggers        int
	maxStreams         int // per client connection
	pushTokenFile      string
	aware              awareFlags
	standalone         standaloneFlags
	log                logFlags
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.grpcAddr, "grpc-addr", ":9090", "gRPC listen address (KEDA external scaler)")
	fs.StringVar(&c.httpAddr, "http-addr", ":8080", "HTTP listen address for /metrics, /healthz, /readyz")
	fs.StringVar(&c.tls.Cert, "tls-cert", "", "PEM certificate for gRPC TLS (reloaded when the file changes)")
	fs.StringVar(&c.tls.Key, "tls-key", "", "PEM private key for gRPC TLS")
	fs.StringVar(&c.tls.ClientCA, "tls-client-ca", "", "PEM CA bundle; when set, clients must present a certificate it signed (mTLS)")
	c.httpTLS.register(fs)
	fs.DurationVar(&c.engine.PollInterval, "poll-interval", 2*time.Second, "how often each upstream is polled")
	fs.DurationVar(&c.engine.PollTimeout, "poll-timeout", 0, "deadline of one poll (default: the poll interval)")
	fs.DurationVar(&c.engine.FirstSampleTimeout, "first-sample-timeout", 2*time.Second, "deadline of the synchronous first sample of a new trigger")
	fs.DurationVar(&c.engine.MaxStaleness, "max-staleness", 0, "how long the last good value is still served after its upstream fails (0: fail at once)")
	fs.DurationVar(&c.idleTriggerTTL, "idle-trigger-ttl", 10*time.Minute, "forget triggers nobody asked about for this long")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long SIGTERM may take to drain streams and RPCs")
	fs.DurationVar(&c.streamRepeat, "stream-repeat", 5*time.Second, "how often StreamIsActive repeats true while active")
	fs.IntVar(&c.maxTriggers, "max-triggers", 100000, "most distinct triggers held at once (0: no limit)")
	fs.IntVar(&c.maxStreams, "max-streams-per-client", 20000, "most StreamIsActive streams one client connection holds open at once (0: no limit)")
	fs.StringVar(&c.pushTokenFile, "push-token-file", "", "file holding the bearer token of POST /v1/push, where gateways push request counts for inference triggers (unset: no push endpoint)")
	c.aware.register(fs)
	c.standalone.register(fs)
	c.log.register(fs)
}

func (c *serveConfig) validate() error {
	for name, d := range map[string]time.Duration{
		"--poll-interval": c.engine.PollInterval, "--first-sample-timeout": c.engine.FirstSampleTimeout,
		"--idle-trigger-ttl": c.idleTriggerTTL, "--shutdown-timeout": c.shutdownTimeout, "--stream-repeat": c.streamRepeat,
	} {
		if d <= 0 {
			return fmt.Errorf("%s %s: must be positive", name, d)
		}
	}
	if c.engine.PollTimeout < 0 || c.engine.MaxStaleness < 0 {
		return fmt.Errorf("--poll-timeout and --max-staleness must not be negative")
	}
	if c.maxTriggers < 0 {
		return fmt.Errorf("--max-triggers %d: must not be negative", c.maxTriggers)
	}
	if c.maxStreams < 0 {
		return fmt.Errorf("--max-streams-per-client %d: must not be negative", c.maxStreams)
	}
	c.engine.IdleTTL = c.idleTriggerTTL
	return errors.Join(c.aware.validate(), c.standalone.validate())
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg serveConfig
	cfg.register(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log, err := cfg.log.logger(stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, nil)
}

// serve runs the scaler until ctx ends. started, when not nil, is called
// with the bound server once it is listening.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, started func(*server.Server)) error {
	httpTLS, err := cfg.httpTLS.config()
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	met := metrics.New(reg)

	cfg.engine.Metrics, cfg.engine.Logger = met, log
	eng := sources.NewEngine(cfg.engine)
	defer eng.Close()

	kube := discovery.New(discovery.InCluster) // the client is made on first use
	defer kube.Close()
	env, handlers, err := inferenceEnv(cfg.pushTokenFile, kube, time.Now)
	if err != nil {
		return err
	}
	parsers := server.DefaultParsers()
	parsers["inference"] = server.InferenceParser(env)
	aware, err := cfg.aware.config(log, &cfg)
	if err != nil {
		return err
	}

	srv, err := server.New(server.Config{
		GRPCAddr: cfg.grpcAddr, HTTPAddr: cfg.httpAddr, TLS: cfg.tls,
		ShutdownTimeout: cfg.shutdownTimeout, IdleTriggerTTL: cfg.idleTriggerTTL,
		Service: server.ServiceConfig{
			Reader: eng, Metrics: met, StreamRepeat: cfg.streamRepeat, MaxTriggers: cfg.maxTriggers, Parsers: parsers,
			Awareness: aware, MaxStreamsPerClient: cfg.maxStreams,
		},
		Gatherer: reg, Handlers: handlers, Logger: log,
	})
	if err != nil {
		return err
	}
	if httpTLS != nil {
		srv.ServeHTTPTLS(httpTLS)
		log.Info("http endpoints serve TLS", "clientCertificates", httpTLS.ClientCAs != nil)
	}
	if started != nil {
		started(srv)
	}
	if cfg.standalone.config == "" {
		return srv.Run(ctx)
	}
	// Without KEDA: the external metrics API and the leader's loops run
	// beside the gRPC server; the first to fail stops the others.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	standaloneErr := make(chan error, 1)
	go func() {
		defer cancel()
		standaloneErr <- runStandalone(ctx, cfg.standalone, cfg.aware.kubeconfig, eng, parsers, log)
	}()
	runErr := srv.Run(ctx)
	cancel()
	return errors.Join(runErr, <-standaloneErr)
}

// inferenceEnv lends inference triggers Kubernetes discovery and, with
// --push-token-file, the push store and its POST /v1/push route.
func inferenceEnv(tokenFile string, kube inference.Discovery, now func() time.Time) (inference.Env, map[string]http.Handler, error) {
	env := inference.Env{Discovery: kube}
	if tokenFile == "" {
		return env, nil, nil
	}
	token, err := inference.ReadToken(tokenFile)
	if err != nil {
		return env, nil, fmt.Errorf("--push-token-file: %w", err)
	}
	env.Push = inference.NewStore(inference.StoreOptions{Now: now})
	return env, map[string]http.Handler{inference.PushPattern: env.Push.Handler(token)}, nil
}
