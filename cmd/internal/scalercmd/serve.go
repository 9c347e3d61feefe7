package scalercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/internal/logbridge"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
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
	peers              peerFlags
	kubeconfig         string
	discovery          bool
	aware              awareFlags
	standalone         standaloneFlags
	status             statusFlags
	log                cli.LogFlags
	policy             cli.PolicyFlags
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.grpcAddr, "grpc-addr", ":9090", "gRPC listen address (KEDA external scaler)")
	fs.StringVar(&c.httpAddr, "http-addr", ":8080", "HTTP listen address for /metrics, /healthz, /readyz and /status")
	fs.StringVar(&c.tls.Cert, "tls-cert", "", "PEM certificate for gRPC TLS (reloaded when the file changes)")
	fs.StringVar(&c.tls.Key, "tls-key", "", "PEM private key for gRPC TLS")
	fs.StringVar(&c.tls.ClientCA, "tls-client-ca", "", "PEM CA bundle; when set, clients must present a certificate it signed (mTLS)")
	c.httpTLS.register(fs)
	fs.DurationVar(&c.engine.PollInterval, "poll-interval", 2*time.Second, "how often each upstream is polled")
	fs.DurationVar(&c.engine.ProbeInterval, "activation-probe-interval", 250*time.Millisecond, "how often the inactive triggers of an upstream that supports it (Kafka, Redis) are probed for new demand, to activate them at once instead of at the next poll; Kafka: one ListOffsets per partition leader per probe, not per trigger; Redis: one EXISTS per 100 empty keys (0: off)")
	fs.DurationVar(&c.engine.IdlePollInterval, "idle-poll-interval", 30*time.Second, "how often an inactive trigger that every activation probe vouches for (nothing new since its last poll) is still polled in full; between, the probes keep its value fresh (0: poll every trigger at every poll interval)")
	fs.DurationVar(&c.engine.PollTimeout, "poll-timeout", 0, "deadline of one poll (default: the poll interval)")
	fs.DurationVar(&c.engine.FirstSampleTimeout, "first-sample-timeout", 2*time.Second, "deadline of the synchronous first sample of a new trigger")
	fs.DurationVar(&c.engine.MaxStaleness, "max-staleness", 0, "how long the last good value is still served after its upstream fails (0: fail at once)")
	fs.DurationVar(&c.idleTriggerTTL, "idle-trigger-ttl", 10*time.Minute, "forget triggers nobody asked about for this long")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long SIGTERM may take to drain streams and RPCs")
	fs.DurationVar(&c.streamRepeat, "stream-repeat", 5*time.Second, "how often StreamIsActive repeats true while active")
	fs.IntVar(&c.maxTriggers, "max-triggers", 100000, "most distinct triggers held at once (0: no limit)")
	fs.IntVar(&c.maxStreams, "max-streams-per-client", 20000, "most streams of each streaming RPC (StreamIsActive, StreamMetricSpec) one client connection holds open at once (0: no limit)")
	fs.StringVar(&c.pushTokenFile, "push-token-file", "", "file holding the bearer token of POST /v1/push, where gateways push request counts for inference triggers (unset: no push endpoint)")
	c.peers.register(fs)
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig for every Kubernetes client of the process: --hpa-awareness, --external-metrics-config, --inference-discovery and --push-peers-service (default: the first file of $KUBECONFIG, else the pod's service account)")
	fs.BoolVar(&c.discovery, "inference-discovery", false, "follow the EndpointSlices of Services named by inference triggers (service + namespace; RBAC: list and watch endpointslices); without it such triggers are refused")
	c.aware.register(fs)
	c.standalone.register(fs)
	c.status.register(fs)
	c.log.Register(fs)
	c.policy.Register(fs)
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
	if c.engine.PollTimeout < 0 || c.engine.MaxStaleness < 0 || c.engine.ProbeInterval < 0 || c.engine.IdlePollInterval < 0 {
		return fmt.Errorf("--poll-timeout, --max-staleness, --activation-probe-interval and --idle-poll-interval must not be negative")
	}
	if c.maxTriggers < 0 {
		return fmt.Errorf("--max-triggers %d: must not be negative", c.maxTriggers)
	}
	if c.maxStreams < 0 {
		return fmt.Errorf("--max-streams-per-client %d: must not be negative", c.maxStreams)
	}
	c.engine.IdleTTL = c.idleTriggerTTL
	return errors.Join(c.aware.validate(), c.standalone.validate(), c.status.validate(),
		c.peers.validate(c.pushTokenFile != "", c.httpTLS.files.Enabled()))
}

const serveSynopsis = `usage: scaler serve [flags]

Runs the KEDA external scaler (gRPC) and its HTTP endpoints /metrics,
/healthz and /readyz until SIGTERM. --hpa-awareness, --inference-discovery,
--push-peers-service and --external-metrics-config need the Kubernetes client: scaler hands them
to scaler-kube (installed beside it), which runs the same serve with them.

` + cli.ExitCodesHelp

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, k *Kube) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cfg serveConfig
	cfg.register(fs)
	if err := cli.ParseFlags(fs, args, getenv, stdout, serveSynopsis); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return cli.Usage(err)
	}
	cfg.kubeconfig = cli.Kubeconfig(cfg.kubeconfig, getenv)
	if kc := cfg.kubeConfig(); kc.Needed() && k == nil {
		return &Handoff{Reason: "serve " + kubeFlag(kc)}
	}
	log, err := cfg.log.Logger(stderr)
	if err != nil {
		return cli.Usage(err)
	}
	logbridge.Install(log) // go-redis's and klog's loggers are process-global
	return serve(ctx, cfg, log, nil, k)
}

// serve runs the scaler until ctx ends. started, when not nil, is called
// with the bound server once it is listening. The Kubernetes features run
// through k (scaler-kube); without k they are a *Handoff.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, started func(*server.Server), k *Kube) error {
	ac, err := cfg.appConfig()
	if err != nil {
		return err
	}
	if ac.HTTPTLS != nil {
		log.Info("http endpoints serve TLS", "clientCertificates", ac.HTTPTLS.ClientCAs != nil)
	}
	kc := cfg.kubeConfig()
	if !kc.Needed() {
		return app.Run(ctx, ac, log, started)
	}
	if k == nil {
		return &Handoff{Reason: "serve " + kubeFlag(kc)}
	}
	return k.Serve(ctx, ac, kc, log, started)
}

// kubeConfig is the part of the configuration that needs the Kubernetes
// client.
func (c *serveConfig) kubeConfig() app.KubeConfig {
	return app.KubeConfig{Kubeconfig: c.kubeconfig, Discovery: c.discovery,
		Awareness: c.aware.config(), Standalone: c.standalone.config(), PushPeers: c.peers.svc}
}

// kubeFlag names the first flag of kc that needs the Kubernetes client.
func kubeFlag(kc app.KubeConfig) string {
	switch {
	case kc.Standalone != nil:
		return "--external-metrics-config"
	case kc.Awareness != nil:
		return "--hpa-awareness"
	case kc.PushPeers != nil:
		return "--push-peers-service"
	default:
		return "--inference-discovery"
	}
}

// appConfig turns the flags into the process's configuration, reading the
// files they name; every error names the flag at fault.
func (c *serveConfig) appConfig() (app.Config, error) {
	ac := app.Config{
		GRPCAddr: c.grpcAddr, HTTPAddr: c.httpAddr, Engine: c.engine,
		ShutdownTimeout: c.shutdownTimeout, IdleTriggerTTL: c.idleTriggerTTL, StreamRepeat: c.streamRepeat,
		MaxTriggers: c.maxTriggers, MaxStreams: c.maxStreams, Status: c.status.config(),
	}
	var err error
	if ac.Sources, err = c.policy.Options(); err != nil {
		return ac, err
	}
	if c.tls.Enabled() {
		if ac.GRPCTLS, err = c.tls.Config(); err != nil {
			return ac, flagError(err, "--tls-cert", "--tls-key", "--tls-client-ca")
		}
	}
	if ac.HTTPTLS, err = c.httpTLS.config(); err != nil {
		return ac, err
	}
	if c.pushTokenFile != "" {
		if ac.PushToken, err = inference.ReadToken(c.pushTokenFile); err != nil {
			return ac, fmt.Errorf("--push-token-file: %w", err)
		}
	}
	if len(c.peers.peers) > 0 {
		ac.Peers = c.peers.peers
	}
	return ac, nil
}
