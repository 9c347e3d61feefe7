package demo

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestDemoScalesUpAndBackToZero runs a compressed demo against the real
// server, an in-process Kafka, a redis-server and loopback vLLM pods: every
// fleet must activate, scale out during the burst (Kafka up to its
// partition cap) and end at zero replicas.
func TestDemoScalesUpAndBackToZero(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(4, "orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	// The serving process as the demo command runs it, with a push token:
	// the demo's router pushes to POST /v1/push.
	const token = "demo-token"
	cfg := app.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		IdleTriggerTTL: time.Hour, PushToken: []byte(token),
		Engine: sources.Options{PollInterval: 100 * time.Millisecond, PollTimeout: time.Second, FirstSampleTimeout: 2 * time.Second}}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *server.Server, 1)
	served := make(chan error, 1)
	go func() {
		served <- app.Run(ctx, cfg, slog.New(slog.DiscardHandler), func(s *server.Server) { started <- s })
	}()
	defer func() { cancel(); <-served }()
	var srv *server.Server
	select {
	case srv = <-started:
	case err := <-served:
		t.Fatalf("serve: %v", err)
	}

	var out bytes.Buffer
	rs := testredis.Start(t, testredis.Config{})
	pic := filepath.Join(t.TempDir(), "demo.html")
	err = Run(t.Context(), Options{
		ScalerAddr: srv.GRPCAddr(),
		Kafka: &KafkaOptions{Brokers: cluster.ListenAddrs(), Topic: "orders", Group: "workers",
			Partitions: 4, LagThreshold: 10, ConsumerRate: 50, RateScale: 1},
		Redis: &RedisOptions{Addr: rs.Addr, List: "jobs", ListLength: 10, ConsumerRate: 50, RateScale: 0.5},
		Inference: &InferenceOptions{Model: "m", Pods: 10, PodRate: 20, MaxRunning: 4,
			TargetRequestRate: 10, TargetWaiting: 4, StableWindow: 6 * time.Second, ScrapeInterval: 200 * time.Millisecond,
			PushURL: "http://" + srv.HTTPAddr() + "/v1/push", PushToken: token, RateScale: 0.1},
		MaxReplicas: 10, Cooldown: 300 * time.Millisecond, Tick: 100 * time.Millisecond,
		Phases: []Phase{{"idle", 300 * time.Millisecond, 0}, {"burst", 1500 * time.Millisecond, 1000}, {"drain", 3 * time.Second, 0}},
		Out:    &out, Picture: pic,
	})
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	view := out.String()
	for _, want := range []string{"activated (KEDA 0→1)", "capped at 4 partitions", "(KEDA →0)", "back at zero replicas"} {
		if !strings.Contains(view, want) {
			t.Errorf("live view lacks %q:\n%s", want, view)
		}
	}
	inferenceRow := regexp.MustCompile(`(?m)^.* m \(vllm\) .*$`)
	rows := strings.Join(inferenceRow.FindAllString(view, -1), "\n")
	for _, want := range []string{"activated (KEDA 0→1)", "KPA scrape: ", "(KEDA →0)"} {
		if !strings.Contains(rows, want) {
			t.Errorf("inference rows lack %q:\n%s", want, rows)
		}
	}
	if peak := regexp.MustCompile(`m \(vllm\) +peak (\d+) replicas`).FindStringSubmatch(view); peak == nil {
		t.Errorf("no summary line for the inference workload:\n%s", view)
	} else if n, _ := strconv.Atoi(peak[1]); n < 2 {
		t.Errorf("inference peaked at %d replicas; want more than 1 during the burst:\n%s", n, rows)
	}
	peaks := map[string]int{}
	for name, want := range map[string]int{"orders (kafka)": 4, "jobs (redis)": 10, "m (vllm)": -1} {
		peak := regexp.MustCompile(regexp.QuoteMeta(name) + ` +peak (\d+) replicas`).FindStringSubmatch(view)
		if peak == nil {
			t.Fatalf("no summary line for %s:\n%s", name, view)
		}
		n, _ := strconv.Atoi(peak[1])
		if want >= 0 && n != want {
			t.Errorf("%s peaked at %d replicas; want %d", name, n, want)
		}
		peaks[name] = n
	}
	both := []string{"KEDA activation 0→1", "KEDA cooldown →0"}
	checkPicture(t, pic, view, peaks, map[string][]string{
		"orders (kafka)": append(both, "partition cap"), "jobs (redis)": both, "m (vllm)": both,
	})
}
