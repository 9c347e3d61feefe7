package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

func TestMutualTLS(t *testing.T) {
	pki := testpki.New(t)
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := sources.NewEngine(sources.Options{Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	srv, err := New(Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		TLS:     TLSFiles{Cert: pki.ServerCertFile, Key: pki.ServerKeyFile, ClientCA: pki.CAFile},
		Service: ServiceConfig{Reader: eng, Metrics: met}, Gatherer: reg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: srv, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- srv.Run(ctx) }()
	t.Cleanup(func() { h.stop(t) })

	check := func(cfg *tls.Config) error {
		conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			return err
		}
		defer conn.Close()
		_, err = healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(&tls.Config{RootCAs: pki.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{pki.ClientPair(t)}}); err != nil {
		t.Errorf("client with a certificate from the CA: %v", err)
	}
	if err := check(&tls.Config{RootCAs: pki.Pool(), ServerName: "localhost"}); err == nil {
		t.Error("client without a certificate was let in")
	}
	other := testpki.New(t)
	if err := check(&tls.Config{RootCAs: pki.Pool(), ServerName: "localhost", Certificates: []tls.Certificate{other.ClientPair(t)}}); err == nil {
		t.Error("client with a certificate from another CA was let in")
	}
}

func TestTLSConfigErrors(t *testing.T) {
	pki := testpki.New(t)
	for _, tc := range []struct {
		name string
		f    TLSFiles
	}{
		{"cert without key", TLSFiles{Cert: pki.ServerCertFile}},
		{"missing file", TLSFiles{Cert: filepath.Join(t.TempDir(), "nope.crt"), Key: pki.ServerKeyFile}},
		{"client CA not PEM", TLSFiles{Cert: pki.ServerCertFile, Key: pki.ServerKeyFile, ClientCA: pki.ServerKeyFile}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.f.Config(); err == nil {
				t.Error("want an error")
			}
		})
	}
}
