package builtin

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// FuzzParse feeds arbitrary metadata through the parse path every face
// uses: no input may panic, and every rejection must be a ConfigError
// (InvalidArgument naming a key) or a limit (ResourceExhausted).
func FuzzParse(f *testing.F) {
	f.Add("kafka", "b1:9092,b2:9092", "group", "orders", "10", "0", "1,2,10-20", "latest", "plaintext", "raw", "", "", "", "", "lagThreshold")
	f.Add("kafka", "", "", "", "abc", "-1", "5-2", "middle", "gssapi", "percent", "-1", "soon", "3", "{scaleUp: [", "lagThreshhold")
	f.Add("nope", "b:1", "g", "t1,t2", "1e400", "NaN", "-", "earliest", "scram_sha512", "replicas", "5", "90s", "1", "{scaleUp: {tolerance: 0}}", "")
	f.Add("kafka", "b:1", "g", "t", "10", "5", "", "latest", "none", "replicas", "2", "2m", "30s",
		"{scaleDown: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}", "scalerAddress")
	reg := Registry(Options{})
	f.Fuzz(func(t *testing.T, source, brokers, group, topic, lag, act, limit, policy, sasl,
		mode, deactivation, minActive, lagTarget, behavior, extraKey string) {
		md := map[string]string{
			"source": source, "bootstrapServers": brokers, "consumerGroup": group, "topic": topic,
			"lagThreshold": lag, "activationLagThreshold": act, "partitionLimitation": limit,
			"offsetResetPolicy": policy, "sasl": sasl, "username": "u", "password": "p",
			"metricMode": mode, "deactivationThreshold": deactivation, "minActiveDuration": minActive,
			"lagTarget": lagTarget, "hpaBehavior": behavior,
		}
		if extraKey != "" {
			md[extraKey] = "x"
		}
		tr, err := reg.Parse(md)
		if err != nil {
			var ce *metadata.ConfigError
			var le *trigger.LimitError
			if !errors.As(err, &ce) && !errors.As(err, &le) {
				t.Fatalf("error %T %v is neither a ConfigError nor a limit", err, err)
			}
			return
		}
		if tr.MetricName() == "" || tr.SourceTarget() <= 0 || tr.Target() <= 0 || tr.Query().Key() == "" {
			t.Fatalf("accepted trigger is incomplete: name %q target %v", tr.MetricName(), tr.Target())
		}
		if o := tr.Options(); o.Activation.Off > o.Activation.On {
			t.Fatalf("accepted contradictory options %+v", o)
		}
		if extraKey != "" && !slices.Contains(reg.Keys(source), extraKey) {
			t.Fatalf("accepted the unknown key %q", extraKey)
		}
		tr.Evaluate(sources.Sample{Value: 1e18, Activity: 1e18, Capacity: 3, Time: time.Unix(1, 0),
			Flow: &sources.Flow{Produced: 1e18, PerConsumer: 1e-300}})
	})
}
