package server

import (
	"errors"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// FuzzTriggerParse feeds arbitrary metadata through the same parse path the
// RPCs use: no input may panic, and every rejection must be a ConfigError
// (InvalidArgument naming a key) or a limit (ResourceExhausted).
func FuzzTriggerParse(f *testing.F) {
	f.Add("kafka", "b1:9092,b2:9092", "group", "orders", "10", "0", "1,2,10-20", "latest", "plaintext", "raw", "", "", "", "")
	f.Add("kafka", "", "", "", "abc", "-1", "5-2", "middle", "gssapi", "percent", "-1", "soon", "3", "{scaleUp: [")
	f.Add("nope", "b:1", "g", "t1,t2", "1e400", "NaN", "-", "earliest", "scram_sha512", "replicas", "5", "90s", "1", "{scaleUp: {tolerance: 0}}")
	f.Add("kafka", "b:1", "g", "t", "10", "5", "", "latest", "none", "replicas", "2", "2m", "30s",
		"{scaleDown: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}")
	f.Fuzz(func(t *testing.T, source, brokers, group, topic, lag, act, limit, policy, sasl,
		mode, deactivation, minActive, lagTarget, behavior string) {
		c := newTriggerCache(DefaultParsers(), 0)
		md := map[string]string{
			"source": source, "bootstrapServers": brokers, "consumerGroup": group, "topic": topic,
			"lagThreshold": lag, "activationLagThreshold": act, "partitionLimitation": limit,
			"offsetResetPolicy": policy, "sasl": sasl, "username": "u", "password": "p",
			"metricMode": mode, "deactivationThreshold": deactivation, "minActiveDuration": minActive,
			"lagTarget": lagTarget, "hpaBehavior": behavior,
		}
		p, err := c.get(md, time.Unix(0, 0))
		if err != nil {
			var ce *sources.ConfigError
			var le *limitError
			if !errors.As(err, &ce) && !errors.As(err, &le) {
				t.Fatalf("error %T %v is neither a ConfigError nor a limit", err, err)
			}
			return
		}
		if p.name == "" || p.Target() <= 0 || p.Query().Key() == "" {
			t.Fatalf("accepted trigger is incomplete: name %q target %v", p.name, p.Target())
		}
		if p.opts.Activation.Off > p.opts.Activation.On || p.target() <= 0 {
			t.Fatalf("accepted contradictory options %+v", p.opts)
		}
		p.decide(sources.Sample{Value: 1e18, Activity: 1e18, Capacity: 3, Time: time.Unix(1, 0),
			Flow: &sources.Flow{Produced: 1e18, PerConsumer: 1e-300}})
	})
}
