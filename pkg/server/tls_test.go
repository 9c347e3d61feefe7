package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
)

func TestMutualTLS(t *testing.T) {
	pki := testpki.New(t)
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := sources.NewEngine(sources.Options{Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	tc, err := TLSFiles{Cert: pki.ServerCertFile, Key: pki.ServerKeyFile, ClientCA: pki.CAFile}.Config()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", GRPCTLS: tc,
		Service: ServiceConfig{Triggers: trigger.NewCache(trigger.CacheConfig{Registry: builtin.Registry(builtin.Options{}), Reader: eng}),
			Metrics: met}, Gatherer: reg, Logger: log})
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
	other := testpki.New(t)
	for _, tc := range []struct {
		name   string
		f      TLSFiles
		fields []string
	}{
		{"cert without key", TLSFiles{Cert: pki.ServerCertFile}, []string{"Cert", "Key"}},
		{"missing file", TLSFiles{Cert: filepath.Join(t.TempDir(), "nope.crt"), Key: pki.ServerKeyFile}, []string{"Cert"}},
		{"key of another pair", TLSFiles{Cert: pki.ServerCertFile, Key: other.ServerKeyFile}, []string{"Cert", "Key"}},
		{"client CA not PEM", TLSFiles{Cert: pki.ServerCertFile, Key: pki.ServerKeyFile, ClientCA: pki.ServerKeyFile}, []string{"ClientCA"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.f.Config()
			var fe *FileError
			if !errors.As(err, &fe) || !slices.Equal(fe.Fields, tc.fields) {
				t.Fatalf("Config = %v; want a FileError naming %v", err, tc.fields)
			}
			// A library error names its fields; the command maps them to flags.
			if msg := fe.Format(func(f string) string { return "<" + f + ">" }); !strings.Contains(msg, "<"+tc.fields[0]+">") || strings.Contains(err.Error(), "--") {
				t.Errorf("error %q / %q: want the fields named, no flag", err, msg)
			}
			if body := strings.Split(strings.TrimSpace(pki.ServerKey), "\n")[1]; strings.Contains(err.Error(), body) {
				t.Errorf("key material in %q", err)
			}
		})
	}
}
