package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// Config configures the whole serving process.
type Config struct {
	GRPCAddr string // e.g. ":9090"
	HTTPAddr string // e.g. ":8080"
	// GRPCTLS and HTTPTLS, when set, serve TLS on each listener (typically
	// from TLSFiles.Config, which re-reads a rotated key pair; with
	// ClientCAs set, a client without a certificate they signed is refused).
	GRPCTLS, HTTPTLS *tls.Config
	// ShutdownTimeout bounds the drain after the context ends.
	ShutdownTimeout time.Duration
	// IdleTriggerTTL forgets parsed triggers nobody asked about for this long.
	IdleTriggerTTL time.Duration
	Service        ServiceConfig
	// Gatherer serves /metrics (the registry the Metrics were registered with).
	Gatherer prometheus.Gatherer
	// Handlers are extra HTTP routes (ServeMux patterns, e.g.
	// "POST /v1/push"), such as a source's push endpoint.
	Handlers map[string]http.Handler
	Logger   *slog.Logger
	// Version and Revision name the build on the "serving" line.
	Version, Revision string
}

// Server is the gRPC and HTTP front of Tide.
type Server struct {
	cfg     Config
	svc     *Service
	grpc    *grpc.Server
	health  *health.Server
	http    *http.Server
	grpcLis net.Listener
	httpLis net.Listener
	ready   atomic.Bool
	codec   *refCodec
}

// New binds both listeners (so ":0" addresses are known before Run) and
// builds the servers.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.IdleTriggerTTL <= 0 {
		cfg.IdleTriggerTTL = 10 * time.Minute
	}
	cfg.Service.Logger = cfg.Logger
	codec := newRefCodec()
	opts := []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(unaryMetrics(cfg.Service.Metrics)),
		grpc.ChainStreamInterceptor(streamMetrics(cfg.Service.Metrics)),
		// KEDA's requests are small; a cap keeps a broken client from
		// making us buffer megabytes before the metadata limits apply.
		grpc.MaxRecvMsgSize(1 << 20),
		grpc.ForceServerCodecV2(codec),
	}
	if cfg.GRPCTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(cfg.GRPCTLS)))
	}
	s := &Server{cfg: cfg, svc: NewService(cfg.Service), grpc: grpc.NewServer(opts...), health: health.NewServer(), codec: codec}
	pb.RegisterExternalScalerServer(s.grpc, s.svc)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	for pattern, h := range cfg.Handlers {
		mux.Handle(pattern, h)
	}
	// ErrorLog: net/http's own lines (TLS handshake errors among them) in
	// the process's format, not the standard logger's on stderr.
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}

	var err error
	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("grpc listen on %q: %w", cfg.GRPCAddr, err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		s.grpcLis.Close()
		return nil, fmt.Errorf("http listen on %q: %w", cfg.HTTPAddr, err)
	}
	if cfg.HTTPTLS != nil {
		tc := cfg.HTTPTLS.Clone()
		tc.NextProtos = []string{"http/1.1"}
		s.httpLis = tls.NewListener(s.httpLis, tc)
	}
	return s, nil
}

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the bound HTTP address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Run serves until ctx ends, then drains: readiness goes false, open streams
// end with status OK, in-flight RPCs finish, all within ShutdownTimeout.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.grpcLis) }()
	go func() {
		if err := s.http.Serve(s.httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()
	s.ready.Store(true)
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.cfg.Logger.Info("serving", "grpc", s.GRPCAddr(), "http", s.HTTPAddr(), "tls", s.cfg.GRPCTLS != nil,
		"httpTLS", s.cfg.HTTPTLS != nil, "version", s.cfg.Version, "revision", s.cfg.Revision)

	sweep := time.NewTicker(min(time.Minute, s.cfg.IdleTriggerTTL))
	defer sweep.Stop()
	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err := <-errc:
			runErr = fmt.Errorf("server stopped: %w", err)
			break loop
		case <-sweep.C:
			s.svc.SweepTriggers(s.svc.cfg.Now().Add(-s.cfg.IdleTriggerTTL))
		}
	}
	return errors.Join(runErr, s.shutdown())
}

func (s *Server) shutdown() error {
	start := time.Now()
	s.cfg.Logger.Info("draining", "timeout", s.cfg.ShutdownTimeout)
	s.ready.Store(false)
	s.health.Shutdown() // NOT_SERVING to every health watcher
	s.svc.Drain()

	deadline, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-deadline.Done():
		s.cfg.Logger.Warn("drain timed out; closing remaining connections")
		s.grpc.Stop()
	}
	err := s.http.Shutdown(deadline)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.http.Close()
	}
	s.cfg.Logger.Info("stopped", "took", time.Since(start).Round(time.Millisecond))
	return err
}
