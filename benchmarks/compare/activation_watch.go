package main

import (
	"context"
	"fmt"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	"github.com/redis/go-redis/v9"
	v2 "k8s.io/api/autoscaling/v2"
)

// watcher is one idle trigger as KEDA holds it: Tide's stream through the
// external-push scaler, or KEDA's loop calling a built-in scaler. active
// gets the time of every `active` it reports.
type watcher struct {
	active chan time.Time
	close  func()
}

// actMetadata is the trigger of idle trigger name: its own topic and group,
// or its own list; activation at the first message.
func actMetadata(c actConfig, im actImpl, name string) map[string]string {
	if im.suite == "kafka" {
		return map[string]string{"source": "kafka", "bootstrapServers": c.bootstrap, "consumerGroup": name,
			"topic": name, "lagThreshold": "10", "activationLagThreshold": "0"}
	}
	return map[string]string{"source": "redis", "address": c.redisAddr, "listName": name,
		"listLength": "5", "activationListLength": "0"}
}

// startWatcher builds the scaler of im and starts watching: Tide's
// StreamIsActive, or KEDA's loop (a check at once, then every cycle).
func startWatcher(ctx context.Context, im actImpl, md map[string]string, tideAddr string) (*watcher, error) {
	ctx, cancel := context.WithCancel(ctx)
	w := &watcher{active: make(chan time.Time, 64)}
	cfg := &scalersconfig.ScalerConfig{
		ScalableObjectName: "so-" + md["listName"] + md["topic"], ScalableObjectNamespace: "bench",
		ScalableObjectType: "ScaledObject", GlobalHTTPTimeout: 3 * time.Second, TriggerMetadata: md,
		ResolvedEnv: map[string]string{}, AuthParams: map[string]string{}, MetricType: v2.AverageValueMetricType,
		TriggerUniqueKey: md["listName"] + md["topic"],
	}
	report := func(a bool) {
		if a {
			select {
			case w.active <- time.Now():
			default:
			}
		}
	}
	if im.push {
		cfg.TriggerType = "external-push"
		md["scalerAddress"] = tideAddr
		ps, err := scalers.NewExternalPushScaler(cfg)
		if err != nil {
			cancel()
			return nil, err
		}
		ch := make(chan bool, 16)
		go ps.Run(ctx, ch)
		go func() {
			for {
				select {
				case a := <-ch:
					report(a)
				case <-ctx.Done():
					return
				}
			}
		}()
		w.close = func() { cancel(); _ = ps.Close(context.Background()) }
		return w, nil
	}
	var (
		s   scalers.Scaler
		err error
	)
	if im.suite == "kafka" {
		cfg.TriggerType = "kafka"
		s, err = scalers.NewKafkaScaler(ctx, cfg)
	} else {
		cfg.TriggerType = "redis"
		s, err = scalers.NewRedisScaler(ctx, false, false, cfg)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	specs := s.GetMetricSpecForScaling(ctx)
	if len(specs) == 0 || specs[0].External == nil {
		cancel()
		_ = s.Close(context.Background())
		return nil, fmt.Errorf("%s: no external metric spec", im.name)
	}
	metric := specs[0].External.Metric.Name
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(im.cycle)
		defer tick.Stop()
		for {
			if _, a, err := s.GetMetricsAndActivity(ctx, metric); err == nil {
				report(a)
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	w.close = func() { cancel(); <-done; _ = s.Close(context.Background()) }
	return w, nil
}

// measureCost counts what the upstreams were asked over the window, with
// only idle triggers of impls open, per idle trigger per minute.
func measureCost(ctx context.Context, c actConfig, rc *redis.Client, impls []actImpl) ([]ActivationCost, error) {
	type counts struct{ kafka, redis map[string]int }
	read := func() (counts, error) {
		var out counts
		var bc brokerCounts
		if err := fetchJSON(ctx, c.control+"/counts", &bc); err != nil {
			return out, err
		}
		out.kafka = bc.Requests
		if rc != nil {
			rcs, err := redisCounts(ctx, c.redisAddr)
			if err != nil {
				return out, err
			}
			out.redis = rcs.requests
		}
		return out, nil
	}
	before, err := read()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := sleepCtx(ctx, c.window); err != nil {
		return nil, err
	}
	after, err := read()
	if err != nil {
		return nil, err
	}
	mins := time.Since(start).Minutes()
	var out []ActivationCost
	for _, im := range impls {
		a, b := after.kafka, before.kafka
		if im.suite == "redis" {
			a, b = after.redis, before.redis
		}
		kinds, n := map[string]int{}, 0
		for k, v := range a {
			if d := v - b[k]; d > 0 && k != "rpush" {
				kinds[k], n = d, n+d
			}
		}
		out = append(out, ActivationCost{Impl: im.name, Suite: im.suite, Triggers: c.idle, Window: mins * 60,
			Requests: n, ByKind: kinds, PerTriggerMinute: float64(n) / float64(c.idle) / mins})
	}
	return out, nil
}
