package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/internal/demo"
	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/server"
)

const runSynopsis = `usage: tide-demo run [flags]

An embedded Kafka, Redis and vLLM pool, the real scaler, producers running
idle -> burst -> sustained -> drain -> idle, and fleets that follow KEDA and
the HPA; exits when every workload is back at zero.

` + cli.ExitCodesHelp

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	forever := fs.Bool("forever", false, "repeat the traffic pattern until interrupted")
	partitions := fs.Int("partitions", 12, "partitions of the demo topic")
	maxReplicas := fs.Int("max-replicas", 20, "maxReplicaCount of the simulated ScaledObject")
	picture := fs.String("picture", filepath.Join(os.TempDir(), "tide-demo.html"),
		"where to write the picture of the run at its end: backlog, replicas and the rule that set them, per workload (a self-contained HTML page; empty: none)")
	statusAddr := fs.String("status-addr", "", "serve the scaler's status page at http://ADDR/status while the demo runs (e.g. 127.0.0.1:8080; port 0 picks one)")
	var log cli.LogFlags
	log.Register(fs)
	if err := cli.ParseFlags(fs, args, getenv, stdout, runSynopsis); err != nil {
		return err
	}
	if *partitions < 1 || *maxReplicas < 1 {
		return cli.Usage(fmt.Errorf("--partitions %d and --max-replicas %d must be at least 1", *partitions, *maxReplicas))
	}
	log.Level = "warn" // the live view is the output; the server only speaks up when something is wrong
	logger, err := log.Logger(stderr)
	if err != nil {
		return err
	}

	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(int32(*partitions), "orders"))
	if err != nil {
		return fmt.Errorf("start embedded kafka: %w", err)
	}
	defer cluster.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The inference workload's router pushes request counts to the real
	// server's POST /v1/push, which is only mounted with a token: the demo
	// makes a random one and sends it as a gateway would.
	token := demoPushToken()
	cfg := app.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second,
		IdleTriggerTTL: 10 * time.Minute, StreamRepeat: 5 * time.Second, MaxTriggers: 1000, PushToken: []byte(token)}
	cfg.Engine.PollInterval = 500 * time.Millisecond
	cfg.Engine.FirstSampleTimeout = 5 * time.Second
	cfg.Engine.IdleTTL = cfg.IdleTriggerTTL
	if *statusAddr != "" {
		// The page shares the scaler's HTTP port; its charts are drawn at
		// the demo's pace: a point a second over the last 10 minutes.
		cfg.HTTPAddr = *statusAddr
		cfg.Status = app.StatusPage{Step: time.Second, Span: 10 * time.Minute}
	} else {
		cfg.Status.Off = true
	}
	started := make(chan *server.Server, 1)
	served := make(chan error, 1)
	go func() { served <- app.Run(ctx, cfg, logger, func(s *server.Server) { started <- s }) }()
	var srv *server.Server
	select {
	case srv = <-started:
	case err := <-served:
		return err
	}
	logger.Info("demo scaler", "grpc", srv.GRPCAddr(), "metrics", "http://"+srv.HTTPAddr()+"/metrics")
	fmt.Fprintf(stdout, "embedded Kafka at %v; scaler gRPC %s, metrics http://%s/metrics\n",
		cluster.ListenAddrs(), srv.GRPCAddr(), srv.HTTPAddr())
	if *statusAddr != "" {
		fmt.Fprintf(stdout, "status page: http://%s/status\n", srv.HTTPAddr())
	}

	// The Redis workload runs on an embedded miniredis: a demo needs nothing
	// installed. (Tests use a real redis-server.)
	mr, err := miniredis.Run()
	if err != nil {
		return fmt.Errorf("start embedded redis: %w", err)
	}
	defer mr.Close()
	fmt.Fprintf(stdout, "embedded Redis at %s\n", mr.Addr())

	runErr := demo.Run(ctx, demo.Options{
		ScalerAddr: srv.GRPCAddr(),
		Kafka: &demo.KafkaOptions{Brokers: cluster.ListenAddrs(), Topic: "orders", Group: "orders-consumer",
			Partitions: int32(*partitions), LagThreshold: 100, ConsumerRate: 100, RateScale: 1},
		Redis: &demo.RedisOptions{Addr: mr.Addr(), List: "jobs", ListLength: 20, ConsumerRate: 20, RateScale: 0.2},
		// Simulated vLLM pods: a pool of loopback servers, one per possible
		// replica; see demo.InferenceOptions.
		Inference: &demo.InferenceOptions{Model: "llama-8b", Pods: *maxReplicas, PodRate: 2, MaxRunning: 4,
			TargetRequestRate: 1.5, TargetWaiting: 4, TargetTTFT: "p90:3s", StableWindow: 6 * time.Second, ZeroGrace: 5 * time.Second,
			PushURL: "http://" + srv.HTTPAddr() + "/v1/push", PushToken: token, RateScale: 0.02},
		MaxReplicas: int32(*maxReplicas), Cooldown: 8 * time.Second, Behavior: demoBehavior(),
		Tick: time.Second, Phases: demo.DefaultPhases, Forever: *forever, Out: stdout, Picture: *picture,
	})
	cancel()
	return firstErr(runErr, <-served)
}

// demoPushToken is a random bearer token for the push endpoint.
func demoPushToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// demoBehavior is an HPA behavior compressed to the demo's 90 seconds: the
// HPA's default rules act per 15 s and hold scale-down for 300 s.
func demoBehavior() *hpa.Behavior {
	upWindow, downWindow := int32(0), int32(10)
	return &hpa.Behavior{
		ScaleUp: &hpa.Rules{StabilizationWindowSeconds: &upWindow, SelectPolicy: hpa.SelectMax, Policies: []hpa.Policy{
			{Type: hpa.PodsPolicy, Value: 4, PeriodSeconds: 1}, {Type: hpa.PercentPolicy, Value: 100, PeriodSeconds: 1}}},
		ScaleDown: &hpa.Rules{StabilizationWindowSeconds: &downWindow, SelectPolicy: hpa.SelectMax, Policies: []hpa.Policy{
			{Type: hpa.PercentPolicy, Value: 50, PeriodSeconds: 2}}},
	}
}
