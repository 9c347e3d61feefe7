package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// testPKI is a throwaway CA with a server and a client certificate.
type testPKI struct {
	dir                string
	pool               *x509.CertPool
	client             tls.Certificate
	caFile             string
	serverCert, srvKey string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tide test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage) ([]byte, []byte) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "localhost"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, _ := x509.MarshalECPrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	}
	p := &testPKI{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	sc, sk := leaf(2, x509.ExtKeyUsageServerAuth)
	p.serverCert, p.srvKey = write("tls.crt", sc), write("tls.key", sk)
	cc, ck := leaf(3, x509.ExtKeyUsageClientAuth)
	if p.client, err = tls.X509KeyPair(cc, ck); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMutualTLS(t *testing.T) {
	pki := newPKI(t)
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := sources.NewEngine(sources.Options{Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	srv, err := New(Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		TLS:     TLSFiles{Cert: pki.serverCert, Key: pki.srvKey, ClientCA: pki.caFile},
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
	if err := check(&tls.Config{RootCAs: pki.pool, ServerName: "localhost", Certificates: []tls.Certificate{pki.client}}); err != nil {
		t.Errorf("client with a certificate from the CA: %v", err)
	}
	if err := check(&tls.Config{RootCAs: pki.pool, ServerName: "localhost"}); err == nil {
		t.Error("client without a certificate was let in")
	}
	other := newPKI(t)
	if err := check(&tls.Config{RootCAs: pki.pool, ServerName: "localhost", Certificates: []tls.Certificate{other.client}}); err == nil {
		t.Error("client with a certificate from another CA was let in")
	}
}

func TestTLSConfigErrors(t *testing.T) {
	pki := newPKI(t)
	for _, tc := range []struct {
		name string
		f    TLSFiles
	}{
		{"cert without key", TLSFiles{Cert: pki.serverCert}},
		{"missing file", TLSFiles{Cert: filepath.Join(pki.dir, "nope.crt"), Key: pki.srvKey}},
		{"client CA not PEM", TLSFiles{Cert: pki.serverCert, Key: pki.srvKey, ClientCA: pki.srvKey}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.f.Config(); err == nil {
				t.Error("want an error")
			}
		})
	}
}
