package scalercmd

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/internal/testredis"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// countingListener is an upstream a tenant points a trigger at: it counts
// the connections the scaler opens and the bytes it sends.
type countingListener struct {
	net.Listener
	conns, bytes atomic.Int64
}

func listenCounting(t *testing.T) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingListener{Listener: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			go func() {
				defer conn.Close()
				buf := make([]byte, 4096)
				for {
					n, err := conn.Read(buf)
					c.bytes.Add(int64(n))
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return c
}

func scalerClient(t *testing.T, addr string) pb.ExternalScalerClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewExternalScalerClient(conn)
}

// rssBytes is this process's resident set size.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// TestTenantCannotReadOperatorFiles plays a tenant aiming passwordFile at
// files of the scaler's pod. Each GetMetricSpec and GetMetrics is
// InvalidArgument naming passwordFile and the path, within a 2 s deadline
// (no unbounded read), memory stays flat, and the broker the trigger names
// never hears from the scaler.
func TestTenantCannotReadOperatorFiles(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	big := filepath.Join(dir, "big")
	// Sparse: 256 MiB that cost no disk, but would cost memory if read.
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 256<<20); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/proc/self/environ", filepath.Join(dir, "environ-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "token"), []byte("sa-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", filepath.Base(outside), "token"), filepath.Join(dir, "token-link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	broker := listenCounting(t)
	client := scalerClient(t, startServe(t, "--secret-dirs", dir).GRPCAddr())

	before := rssBytes(t)
	for _, tc := range []struct{ name, path, reason string }{
		{"service-account token", "/var/run/secrets/kubernetes.io/serviceaccount/token", "outside the directories"},
		{"process environment", "/proc/self/environ", "outside the directories"},
		{"endless device", "/dev/zero", "outside the directories"},
		{"symlink to the environment", filepath.Join(dir, "environ-link"), "cannot read"},
		{"symlink out of the directory", filepath.Join(dir, "token-link"), "cannot read"},
		{"oversized file", big, "more than the 65536"},
		{"named pipe", filepath.Join(dir, "fifo"), "not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := &pb.ScaledObjectRef{Name: "tenant", Namespace: "t", ScalerMetadata: map[string]string{
				"source": "kafka", "bootstrapServers": broker.Addr().String(), "consumerGroup": "g", "topic": "orders",
				"sasl": "plaintext", "username": "mallory", "passwordFile": tc.path}}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, specErr := client.GetMetricSpec(ctx, ref)
			_, metricsErr := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: "x"})
			for _, err := range []error{specErr, metricsErr} {
				st := status.Convert(err)
				if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), `"passwordFile"`) ||
					!strings.Contains(st.Message(), tc.path) || !strings.Contains(st.Message(), tc.reason) {
					t.Fatalf("got %v; want InvalidArgument naming passwordFile, %q and %q", err, tc.path, tc.reason)
				}
				if strings.Contains(st.Message(), "sa-token") {
					t.Fatalf("the error holds the file's contents: %v", err)
				}
			}
		})
	}
	if grown := rssBytes(t) - before; grown > 32<<20 {
		t.Errorf("RSS grew by %d MiB over the attempts; a file was read without bound", grown>>20)
	}
	if n := broker.conns.Load(); n != 0 {
		t.Errorf("the scaler opened %d connections to the tenant's broker; want none", n)
	}
}

// TestAllowUpstreams closes the scaler to every upstream but one Redis: a
// trigger naming any other address is InvalidArgument naming its key and
// the address, and nothing connects to it; a host name that resolves
// outside the allowed CIDR is refused on the dial, never read as 0; the
// allowed Redis reads its exact value.
func TestAllowUpstreams(t *testing.T) {
	rs := testredis.Start(t, testredis.Config{})
	if err := rs.Client().RPush(context.Background(), "jobs", "a", "b", "c").Err(); err != nil {
		t.Fatal(err)
	}
	other := listenCounting(t)
	_, otherPort, _ := net.SplitHostPort(other.Addr().String())
	_, redisPort, _ := net.SplitHostPort(rs.Addr)
	client := scalerClient(t, startServe(t, "--allow-upstreams", "redis=127.0.0.1/32:"+redisPort+",10.0.0.0/8:"+otherPort+";kafka=*.kafka.example:9092",
		"--first-sample-timeout", "2s").GRPCAddr())
	call := func(md map[string]string) (*pb.GetMetricsResponse, error) {
		ref := &pb.ScaledObjectRef{Name: "so", Namespace: "t", ScalerMetadata: md}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := client.GetMetricSpec(ctx, ref); err != nil {
			return nil, err
		}
		return client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: "x"})
	}

	for _, tc := range []struct {
		name, key, addr string
		md              map[string]string
		code            codes.Code
	}{
		{"kafka broker outside the list", "bootstrapServers", other.Addr().String(),
			map[string]string{"source": "kafka", "bootstrapServers": other.Addr().String(), "consumerGroup": "g", "topic": "t"}, codes.InvalidArgument},
		{"redis on another port", "address", other.Addr().String(),
			map[string]string{"source": "redis", "address": other.Addr().String(), "listName": "jobs"}, codes.InvalidArgument},
		{"redis by a name resolving outside the list", "localhost:" + otherPort, "localhost:" + otherPort,
			map[string]string{"source": "redis", "address": "localhost:" + otherPort, "listName": "jobs"}, codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := call(tc.md)
			st := status.Convert(err)
			if st.Code() != tc.code || !strings.Contains(st.Message(), tc.key) || !strings.Contains(st.Message(), "not an upstream this scaler may connect to") {
				t.Fatalf("got %v, %v; want %s naming %q and the allow-list", resp, err, tc.code, tc.key)
			}
		})
	}
	if n := other.conns.Load(); n != 0 {
		t.Errorf("the scaler opened %d connections to an address outside the list", n)
	}
	resp, err := call(map[string]string{"source": "redis", "address": rs.Addr, "listName": "jobs", "listLength": "1"})
	if err != nil || len(resp.MetricValues) != 1 || resp.MetricValues[0].MetricValueFloat != 3 {
		t.Fatalf("allowed Redis: %v, %v; want its list length 3", resp, err)
	}
}
