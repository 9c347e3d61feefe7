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
	f.Add("kafka", "b1:9092,b2:9092", "group", "orders", "10", "0", "1,2,10-20", "latest", "plaintext")
	f.Add("kafka", "", "", "", "abc", "-1", "5-2", "middle", "gssapi")
	f.Add("nope", "b:1", "g", "t1,t2", "1e400", "NaN", "-", "earliest", "scram_sha512")
	f.Fuzz(func(t *testing.T, source, brokers, group, topic, lag, act, limit, policy, sasl string) {
		c := newTriggerCache(DefaultParsers(), 0)
		md := map[string]string{
			"source": source, "bootstrapServers": brokers, "consumerGroup": group, "topic": topic,
			"lagThreshold": lag, "activationLagThreshold": act, "partitionLimitation": limit,
			"offsetResetPolicy": policy, "sasl": sasl, "username": "u", "password": "p",
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
		p.Evaluate(sources.Sample{Value: 1e18, Activity: 1e18, Capacity: 3})
	})
}
