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

	"github.com/tide-scaler/tide/internal/demo"
	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/server"
)

func runDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	forever := fs.Bool("forever", false, "repeat the traffic pattern until interrupted")
	partitions := fs.Int("partitions", 12, "partitions of the demo topic")
	maxReplicas := fs.Int("max-replicas", 20, "maxReplicaCount of the simulated ScaledObject")
	var log logFlags
	log.register(fs)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if *partitions < 1 || *maxReplicas < 1 {
		return fmt.Errorf("--partitions %d and --max-replicas %d must be at least 1", *partitions, *maxReplicas)
	}
	log.level = "warn" // the live view is the output; the server only speaks up when something is wrong
	logger, err := log.logger(stderr)
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
	// server's POST /v1/push, which serve() only mounts with a token file:
	// the demo writes a random token to a temporary file and sends it as a
	// gateway would.
	token, tokenFile, err := demoPushToken()
	if err != nil {
		return err
	}
	defer os.RemoveAll(filepath.Dir(tokenFile))
	cfg := serveConfig{grpcAddr: "127.0.0.1:0", httpAddr: "127.0.0.1:0", shutdownTimeout: 5 * time.Second,
		idleTriggerTTL: 10 * time.Minute, streamRepeat: 5 * time.Second, maxTriggers: 1000, pushTokenFile: tokenFile}
	cfg.engine.PollInterval = 500 * time.Millisecond
	cfg.engine.FirstSampleTimeout = 5 * time.Second
	if err := cfg.validate(); err != nil {
		return err
	}
	started := make(chan *server.Server, 1)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, cfg, logger, func(s *server.Server) { started <- s }) }()
	var srv *server.Server
	select {
	case srv = <-started:
	case err := <-served:
		return err
	}
	logger.Info("demo scaler", "grpc", srv.GRPCAddr(), "metrics", "http://"+srv.HTTPAddr()+"/metrics")
	fmt.Fprintf(stdout, "embedded Kafka at %v; scaler gRPC %s, metrics http://%s/metrics\n",
		cluster.ListenAddrs(), srv.GRPCAddr(), srv.HTTPAddr())

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
		Inference: &demo.InferenceOptions{Model: "llama-8b", Pods: *maxReplicas, PodRate: 4, MaxRunning: 4,
			TargetRequestRate: 3, TargetWaiting: 4, StableWindow: 6 * time.Second, ZeroGrace: 5 * time.Second,
			PushURL: "http://" + srv.HTTPAddr() + "/v1/push", PushToken: token, RateScale: 0.02},
		MaxReplicas: int32(*maxReplicas), Cooldown: 8 * time.Second, Behavior: demoBehavior(),
		Tick: time.Second, Phases: demo.DefaultPhases, Forever: *forever, Out: stdout,
	})
	cancel()
	return firstErr(runErr, <-served)
}

// demoPushToken writes a random bearer token for the push endpoint to a
// file in a new temporary directory.
func demoPushToken() (token, file string, err error) {
	b := make([]byte, 16)
	rand.Read(b)
	token = hex.EncodeToString(b)
	dir, err := os.MkdirTemp("", "tide-demo-")
	if err != nil {
		return "", "", fmt.Errorf("push token: %w", err)
	}
	file = filepath.Join(dir, "push-token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", "", fmt.Errorf("push token: %w", err)
	}
	return token, file, nil
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
