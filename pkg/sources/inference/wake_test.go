package inference_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// noPods is a Service scaled to zero: no endpoints at all.
type noPods struct{}

func (noPods) Follow(_, _ string) (inference.Service, error) { return noPods{}, nil }
func (noPods) Endpoints(context.Context) ([]inference.ServiceEndpoint, error) {
	return nil, nil
}
func (noPods) Close() error { return nil }

const token = "wake-test-token"

// startScaler runs the real server (gRPC and HTTP, push route mounted) on
// loopback ports.
func startScaler(t *testing.T) (pb.ExternalScalerClient, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := sources.NewEngine(sources.Options{Metrics: met, Logger: log})
	t.Cleanup(func() { eng.Close() })
	store := inference.NewStore(inference.StoreOptions{})
	env := inference.Env{Push: store, Discovery: noPods{}}
	cache := trigger.NewCache(trigger.CacheConfig{Registry: builtin.Registry(builtin.Options{Inference: env}), Reader: eng})
	t.Cleanup(cache.Close)
	srv, err := server.New(server.Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		Service:  server.ServiceConfig{Triggers: cache, Metrics: met, StreamRepeat: time.Hour},
		Handlers: map[string]http.Handler{inference.PushPattern: store.Handler([]byte(token))},
		Gatherer: reg, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return pb.NewExternalScalerClient(conn), "http://" + srv.HTTPAddr()
}

func push(t *testing.T, base, auth, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/push", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPushWakesTriggerAtZero: with the model at zero replicas (no pods to
// scrape), one request pushed through the real HTTP endpoint makes
// StreamIsActive send true within about a second, for a push trigger and
// for a scrape trigger that also listens to pushes.
func TestPushWakesTriggerAtZero(t *testing.T) {
	client, base := startScaler(t)
	triggers := map[string]map[string]string{
		"push": {"source": "inference", "mode": "push", "model": "llama-a", "targetRequestRate": "5"},
		"scrape with model": {"source": "inference", "service": "vllm", "namespace": "ai", "model": "llama-b",
			"targetWaiting": "4"},
	}
	for name, md := range triggers {
		t.Run(name, func(t *testing.T) {
			ref := &pb.ScaledObjectRef{Name: "so", Namespace: "ns", ScalerMetadata: md}
			spec, err := client.GetMetricSpec(t.Context(), ref)
			if err != nil || spec.MetricSpecs[0].TargetSizeFloat != 1 {
				t.Fatalf("GetMetricSpec = %v, %v; want target 1", spec, err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			stream, err := client.StreamIsActive(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan bool, 16)
			go func() {
				for {
					r, err := stream.Recv()
					if err != nil {
						close(got)
						return
					}
					got <- r.Result
				}
			}()
			if v := recv(t, got, 10*time.Second); v {
				t.Fatal("active before any traffic")
			}
			if code := push(t, base, "", `{"model":"`+md["model"]+`","count":1}`); code != http.StatusUnauthorized {
				t.Fatalf("push without the token: %d, want 401", code)
			}
			start := time.Now()
			if code := push(t, base, "Bearer "+token, `{"model":"`+md["model"]+`","count":1}`); code != http.StatusNoContent {
				t.Fatalf("push: %d", code)
			}
			if v := recv(t, got, 5*time.Second); !v {
				t.Fatal("StreamIsActive did not turn true after a pushed request")
			}
			if took := time.Since(start); took > 2500*time.Millisecond {
				t.Errorf("woke %s after the push; want within about one 1 s tick", took)
			}
			m, err := client.GetMetrics(t.Context(), &pb.GetMetricsRequest{ScaledObjectRef: ref})
			if err != nil || m.MetricValues[0].MetricValueFloat < 1 {
				t.Errorf("GetMetrics after waking = %v, %v; want at least 1 replica", m, err)
			}
		})
	}
}

func recv(t *testing.T, ch <-chan bool, d time.Duration) bool {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("stream ended")
		}
		return v
	case <-time.After(d):
		t.Fatalf("no StreamIsActive message within %s", d)
	}
	return false
}
