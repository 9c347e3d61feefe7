package main

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers"
	"github.com/kedacore/keda/v2/pkg/scalers/scalersconfig"
	v2 "k8s.io/api/autoscaling/v2"
)

// scaler is one ScaledObject's trigger as KEDA's scale handler holds it: a
// built scaler and the metric name KEDA asks it for.
type scaler struct {
	impl   string
	s      scalers.Scaler
	metric string
	target float64 // the HPA's AverageValue target
}

// newScaler builds the scaler of impl for ScaledObject so, as KEDA's scale
// handler does (scalersconfig.ScalerConfig in, GetMetricSpecForScaling for
// the metric name). Tide is KEDA's `external` scaler pointed at tideAddr.
func newScaler(ctx context.Context, impl string, so int, md map[string]string, tideAddr string) (*scaler, error) {
	cfg := &scalersconfig.ScalerConfig{
		ScalableObjectName:      fmt.Sprintf("so-%05d", so),
		ScalableObjectNamespace: "bench",
		ScalableObjectType:      "ScaledObject",
		GlobalHTTPTimeout:       3 * time.Second,
		TriggerMetadata:         maps.Clone(md),
		ResolvedEnv:             map[string]string{},
		AuthParams:              map[string]string{},
		TriggerIndex:            0,
		TriggerUniqueKey:        fmt.Sprintf("bench/so-%05d/0", so),
		MetricType:              v2.AverageValueMetricType,
	}
	var (
		s   scalers.Scaler
		err error
	)
	switch impl {
	case ImplKEDAKafka:
		cfg.TriggerType = "kafka"
		s, err = scalers.NewKafkaScaler(ctx, cfg)
	case ImplKEDAApache:
		cfg.TriggerType = "apache-kafka"
		s, err = scalers.NewApacheKafkaScaler(ctx, cfg)
	case ImplKEDARedis:
		cfg.TriggerType = "redis"
		s, err = scalers.NewRedisScaler(ctx, false, false, cfg)
	case ImplTide, ImplTideSlow, ImplFloor:
		cfg.TriggerType = "external"
		cfg.TriggerMetadata["scalerAddress"] = tideAddr
		s, err = scalers.NewExternalScaler(cfg)
	default:
		return nil, fmt.Errorf("unknown implementation %q", impl)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: build scaler: %w", impl, err)
	}
	specs := s.GetMetricSpecForScaling(ctx)
	if len(specs) == 0 || specs[0].External == nil {
		_ = s.Close(ctx)
		return nil, fmt.Errorf("%s: no external metric spec (scaler unreachable?)", impl)
	}
	sc := &scaler{impl: impl, s: s, metric: specs[0].External.Metric.Name}
	if t := specs[0].External.Target.AverageValue; t != nil {
		sc.target = t.AsApproximateFloat64()
	}
	return sc, nil
}

// observe is one GetMetricsAndActivity, as KEDA's loop and the HPA's metric
// read both make it: the summed value and the activity.
func (sc *scaler) observe(ctx context.Context) (float64, bool, error) {
	ms, active, err := sc.s.GetMetricsAndActivity(ctx, sc.metric)
	if err != nil {
		return 0, false, err
	}
	var v float64
	for _, m := range ms {
		v += m.Value.AsApproximateFloat64()
	}
	return v, active, nil
}

func (sc *scaler) close() { _ = sc.s.Close(context.Background()) }
