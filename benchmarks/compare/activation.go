package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	v2 "k8s.io/api/autoscaling/v2"
)

// Activation implementations.
const (
	ActTidePush = "tide-push"      // StreamIsActive through KEDA's external-push scaler
	ActKEDA1s   = "keda-kafka-1s"  // KEDA's kafka scaler, pollingInterval 1 s
	ActKEDA30s  = "keda-kafka-30s" // KEDA's kafka scaler, pollingInterval 30 s (the default)
)

// activationCmd measures, for each implementation and trial, the time from
// the first message on an idle topic (acknowledged by the broker) to the
// first `active`. Every trial has its own topic and group and all run at
// once, so the whole measurement takes one 30 s polling interval.
func activationCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("activation", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "Kafka bootstrap servers")
	tideAddr := fs.String("tide-addr", "", "Tide's gRPC address")
	trials := fs.Int("trials", 7, "trials per implementation")
	seed := fs.Uint64("seed", 1, "seed of the message times")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(*bootstrap, ",")...), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	impls := []string{ActTidePush, ActKEDA1s, ActKEDA30s}
	for _, impl := range impls {
		for t := range *trials {
			topic := fmt.Sprintf("act-%s-%d", impl, t)
			if res, err := adm.CreateTopics(ctx, 1, 1, nil, topic); err != nil || res.Error() != nil {
				return fmt.Errorf("create %s: %v %v", topic, err, res.Error())
			}
			var os kadm.Offsets
			os.AddOffset(topic, 0, 0, -1)
			if err := adm.CommitAllOffsets(ctx, topic, os); err != nil {
				return fmt.Errorf("commit %s: %w", topic, err)
			}
		}
	}
	r := rand.New(rand.NewPCG(*seed, 2))
	var (
		mu  sync.Mutex
		out []ActivationResult
		wg  sync.WaitGroup
	)
	for _, impl := range impls {
		for t := range *trials {
			phase := r.Float64()
			wg.Go(func() {
				topic := fmt.Sprintf("act-%s-%d", impl, t)
				secs, err := activationTrial(ctx, cl, impl, topic, *bootstrap, *tideAddr, phase)
				res := ActivationResult{Impl: impl, Trial: t, Seconds: secs.Seconds()}
				if err != nil {
					res.Error = err.Error()
				}
				mu.Lock()
				out = append(out, res)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return json.NewEncoder(os.Stdout).Encode(out)
}

// activationTrial starts the watcher, produces one record at a random phase
// of the watcher's cycle, and returns how long after the broker acknowledged
// it the watcher first said active.
func activationTrial(ctx context.Context, cl *kgo.Client, impl, topic, bootstrap, tideAddr string, phase float64) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	md := map[string]string{
		"source": "kafka", "bootstrapServers": bootstrap, "consumerGroup": topic, "topic": topic,
		"lagThreshold": "10", "activationLagThreshold": "0",
	}
	cfg := &scalersconfig.ScalerConfig{
		ScalableObjectName: "act-" + topic, ScalableObjectNamespace: "bench", ScalableObjectType: "ScaledObject",
		GlobalHTTPTimeout: 3 * time.Second, TriggerMetadata: md, ResolvedEnv: map[string]string{},
		AuthParams: map[string]string{}, MetricType: v2.AverageValueMetricType, TriggerUniqueKey: topic,
	}
	active := make(chan time.Time, 64)
	var cycle time.Duration
	switch impl {
	case ActTidePush:
		// Tide's default poll interval; its activation probe (default
		// 250 ms, --activation-probe-interval) divides it, so a phase
		// uniform over the poll is uniform over the probe too.
		cycle = 2 * time.Second
		cfg.TriggerType = "external-push"
		md["scalerAddress"] = tideAddr
		ps, err := scalers.NewExternalPushScaler(cfg)
		if err != nil {
			return 0, err
		}
		defer ps.Close(context.Background())
		ch := make(chan bool, 16)
		go ps.Run(ctx, ch)
		go func() {
			for {
				select {
				case a := <-ch:
					if a {
						active <- time.Now()
					}
				case <-ctx.Done():
					return
				}
			}
		}()
	case ActKEDA1s, ActKEDA30s:
		cycle = time.Second
		if impl == ActKEDA30s {
			cycle = 30 * time.Second
		}
		cfg.TriggerType = "kafka"
		s, err := scalers.NewKafkaScaler(ctx, cfg)
		if err != nil {
			return 0, err
		}
		defer s.Close(context.Background())
		go func() { // KEDA's loop: a check at once, then every pollingInterval
			tick := time.NewTicker(cycle)
			defer tick.Stop()
			for {
				if _, a, err := s.GetMetricsAndActivity(ctx, "s0-kafka-"+topic); err == nil && a {
					active <- time.Now()
				}
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
			}
		}()
	default:
		return 0, fmt.Errorf("unknown implementation %q", impl)
	}
	// The watcher has seen the empty topic (KEDA's loop checks at once; the
	// stream gets a second to open), then the message lands at a random
	// phase of the watcher's cycle.
	wait := 200*time.Millisecond + time.Duration(phase*float64(cycle-200*time.Millisecond))
	if impl == ActTidePush {
		wait += time.Second
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("first")}).FirstErr(); err != nil {
		return 0, fmt.Errorf("produce: %w", err)
	}
	sent := time.Now()
	for {
		select {
		case at := <-active:
			if at.After(sent) {
				return at.Sub(sent), nil
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("no activation within the deadline: %w", ctx.Err())
		}
	}
}
