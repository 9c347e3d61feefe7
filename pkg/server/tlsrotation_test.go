package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// secretDir lays out TLS files as the kubelet mounts a Secret: tls.crt and
// tls.key are symlinks through ..data, and an update swaps ..data to a new
// directory in one rename, so a reader never sees half a pair.
type secretDir struct {
	t        *testing.T
	dir      string
	versions int
}

func newSecretDir(t *testing.T) *secretDir {
	d := &secretDir{t: t, dir: t.TempDir()}
	for _, name := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(d.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *secretDir) files() TLSFiles {
	return TLSFiles{Cert: filepath.Join(d.dir, "tls.crt"), Key: filepath.Join(d.dir, "tls.key")}
}

// update publishes a new version of the Secret, with mtime on both files.
func (d *secretDir) update(cert, key string, mtime time.Time) {
	t := d.t
	t.Helper()
	d.versions++
	version := "..v" + strconv.Itoa(d.versions)
	if err := os.Mkdir(filepath.Join(d.dir, version), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"tls.crt": cert, "tls.key": key} {
		path := filepath.Join(d.dir, version, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(d.dir, "..data_tmp")
	if err := os.Symlink(version, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// TestKeyPairRotation: the gRPC server's key pair is rotated on disk, as a
// renewed Secret is, while a client is connected. The open connection keeps
// answering on the pair it was served; every new connection is served the
// newest pair, without a restart, also when the new files keep the old
// mtime (a restore with cp -p); a broken or half-written pair leaves the last
// good one in service, and a good pair after it is picked up.
func TestKeyPairRotation(t *testing.T) {
	first, second, third := testpki.New(t), testpki.New(t), testpki.New(t)
	secret := newSecretDir(t)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	secret.update(first.ServerCert, first.ServerKey, base)

	tc, err := secret.files().Config()
	if err != nil {
		t.Fatal(err)
	}
	h := startTLSServer(t, tc)

	// The client trusts every CA involved, so only the certificate the
	// server presents tells the pairs apart.
	roots := x509.NewCertPool()
	for _, p := range []*testpki.PKI{first, second, third} {
		roots.AppendCertsFromPEM([]byte(p.CA))
	}
	clientTLS := &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	dial := func() pb.ExternalScalerClient {
		conn, err := grpc.NewClient(h.srv.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return pb.NewExternalScalerClient(conn)
	}
	// served makes an RPC on c and returns the certificate the server
	// presented on the connection it went over.
	served := func(what string, c pb.ExternalScalerClient) []byte {
		t.Helper()
		var p peer.Peer
		resp, err := c.GetMetricSpec(t.Context(), ref("queue", "jobs"), grpc.Peer(&p))
		if err != nil {
			t.Fatalf("%s: GetMetricSpec: %v", what, err)
		}
		if resp.MetricSpecs[0].MetricName != "queue-jobs" {
			t.Fatalf("%s: spec %v", what, resp)
		}
		info, ok := p.AuthInfo.(credentials.TLSInfo)
		if !ok || len(info.State.PeerCertificates) == 0 {
			t.Fatalf("%s: no TLS peer certificate (auth info %T)", what, p.AuthInfo)
		}
		return info.State.PeerCertificates[0].Raw
	}
	want := func(what string, got []byte, p *testpki.PKI, name string) {
		t.Helper()
		if !bytes.Equal(got, certDER(t, p.ServerCert)) {
			t.Errorf("%s: served a certificate other than the %s pair", what, name)
		}
	}

	live := dial()
	want("before rotation", served("before rotation", live), first, "first")

	secret.update(second.ServerCert, second.ServerKey, base.Add(time.Minute))
	want("open connection after rotation", served("open connection after rotation", live), first, "first (its handshake's)")
	want("new connection after rotation", served("new connection after rotation", dial()), second, "rotated")

	// A restore that keeps the files' mtime is still a new pair.
	secret.update(third.ServerCert, third.ServerKey, base.Add(time.Minute))
	want("new connection after a same-mtime rotation", served("new connection after a same-mtime rotation", dial()), third, "restored")

	for _, bad := range []struct{ name, cert, key string }{
		{"key of another pair", first.ServerCert, second.ServerKey},
		{"cert not PEM", "not a certificate", third.ServerKey},
		{"empty files", "", ""},
	} {
		secret.update(bad.cert, bad.key, base.Add(2*time.Minute))
		what := "new connection after rotating to a broken pair (" + bad.name + ")"
		want(what, served(what, dial()), third, "last good")
	}
	if err := os.Remove(filepath.Join(secret.dir, "..data")); err != nil { // mid-update: no files at all
		t.Fatal(err)
	}
	want("new connection while the files are missing", served("new connection while the files are missing", dial()), third, "last good")

	secret.update(second.ServerCert, second.ServerKey, base.Add(3*time.Minute))
	want("new connection after a good pair follows a broken one", served("after the broken pairs", dial()), second, "newest good")
	want("the first connection, still open", served("first connection at the end", live), first, "first")
}

// startTLSServer runs the real server with gRPC over tc and the queue source.
func startTLSServer(t *testing.T, tc *tls.Config) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := &queueSource{depths: map[string]float64{}}
	eng := sources.NewEngine(sources.Options{Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	cache := trigger.NewCache(trigger.CacheConfig{Registry: src.registry(t), Reader: eng})
	t.Cleanup(cache.Close)
	h := runServer(t, Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", GRPCTLS: tc, ShutdownTimeout: 5 * time.Second,
		Service: ServiceConfig{Triggers: cache, Metrics: met}, Gatherer: reg, Logger: log})
	h.src = src
	return h
}

func certDER(t *testing.T, certPEM string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(certPEM))
	if b == nil {
		t.Fatal("no PEM block in the certificate")
	}
	return b.Bytes
}
