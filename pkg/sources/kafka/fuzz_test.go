package kafka

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// FuzzParse: no input panics, every error is a ConfigError, and every
// accepted trigger is usable (a valid metric name, a positive target, a
// deterministic key).
func FuzzParse(f *testing.F) {
	f.Add("b:9092", "g", "t", "10", "0", "1,2,10-20", "latest", "none", "false")
	f.Add("b:1,c:2", "g", "", "0.5", "1", "", "earliest", "plaintext", "true")
	f.Add("b", "", "a,b", "-1", "x", "5-2", "middle", "gssapi", "maybe")
	f.Add("[::1]:9092", "G_1", "t", "1e308", "NaN", "1-", "EARLIEST", "scram_sha512", "1")
	name := regexp.MustCompile(`^[a-z0-9.-]{1,60}$`)
	f.Fuzz(func(t *testing.T, brokers, group, topic, lag, activation, parts, policy, saslName, flag string) {
		md := metadata.Metadata{
			"bootstrapServers":         brokers,
			"consumerGroup":            group,
			"topic":                    topic,
			"lagThreshold":             lag,
			"activationLagThreshold":   activation,
			"partitionLimitation":      parts,
			"offsetResetPolicy":        policy,
			"sasl":                     saslName,
			"username":                 "user",
			"password":                 "pw",
			"limitToPartitionsWithLag": flag,
			"allowIdleConsumers":       flag,
			"excludePersistentLag":     flag,
		}
		tr, err := Parse(md, testPolicy)
		if err != nil {
			if _, ok := isConfigError(err); !ok {
				t.Fatalf("error %T %v is not a ConfigError", err, err)
			}
			if strings.Contains(err.Error(), `"pw"`) {
				t.Fatalf("error %q leaks the password", err)
			}
			return
		}
		if !name.MatchString(tr.MetricName()) {
			t.Errorf("metric name %q", tr.MetricName())
		}
		if tg := tr.Target(); !(tg > 0) || math.IsInf(tg, 0) {
			t.Errorf("target %v", tg)
		}
		again, err := Parse(md, testPolicy)
		if err != nil || again.Query().Key() != tr.Query().Key() {
			t.Errorf("second parse: %v, key %q vs %q", err, again.Query().Key(), tr.Query().Key())
		}
		_ = tr.Evaluate(sources.Sample{Value: 1e6, Activity: 1e6, Capacity: 7})
	})
}
