package redis

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// FuzzParse: no input panics, every error is a ConfigError without the
// password, and every accepted trigger is usable (a valid metric name, a
// positive target, a deterministic key without the password, a lagTarget
// only in lag mode and within bounds, a replica count that is a count).
func FuzzParse(f *testing.F) {
	f.Add("redis:6379", "", "standalone", "jobs", "", "", "5", "0", "", "0", "false", "", "")
	f.Add("", "a:1,b:2", "cluster", "bull:*:wait,x", "", "", "2.5", "1", "", "0", "true", "30s", "replicas")
	f.Add("s:26379", "", "sentinel", "", "events", "g", "10", "3", "10", "2", "false", "30s", "replicas")
	f.Add("r:1", "", "", "", "events", "g", "10", "3", "10", "0", "false", "1e300", "REPLICAS")
	f.Add("[::1]:7000", "", "CLUSTER", "", "s", "", "-1", "x", "0", "-1", "maybe", "-1s", "raw")
	f.Add("h", "a:1", "ring", "a", "b", "g", "NaN", "1e308", "1", "99999999999", "1", "NaN", "x")
	name := regexp.MustCompile(`^[a-z0-9.-]{1,60}$`)
	f.Fuzz(func(t *testing.T, address, addresses, mode, list, stream, group, target, activation, lag, db, flag, lagTarget, metricMode string) {
		md := metadata.Metadata{
			"address":              address,
			"addresses":            addresses,
			"redisType":            mode,
			"listName":             list,
			"stream":               stream,
			"consumerGroup":        group,
			"listLength":           target,
			"streamLength":         target,
			"activationLagCount":   activation,
			"lagCount":             lag,
			"databaseIndex":        db,
			"enableTLS":            flag,
			"unsafeSsl":            flag,
			"password":             "pw-SECRET",
			"sentinelMaster":       group,
			"sentinelPassword":     "pw-SECRET",
			"activationListLength": activation,
			"lagTarget":            lagTarget,
			"metricMode":           metricMode,
		}
		tr, err := Parse(md, testPolicy)
		if err != nil {
			if _, ok := isConfigError(err); !ok {
				t.Fatalf("error %T %v is not a ConfigError", err, err)
			}
			if strings.Contains(err.Error(), "pw-SECRET") {
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
		q := tr.Query()
		if strings.Contains(q.Key(), "pw-SECRET") || strings.Contains(q.Upstream().Name, "pw-SECRET") {
			t.Errorf("key or name holds the password: %q %q", q.Key(), q.Upstream().Name)
		}
		again, err := Parse(md, testPolicy)
		if err != nil || again.Query().Key() != q.Key() {
			t.Errorf("second parse: %v, key %q vs %q", err, again.Query().Key(), q.Key())
		}
		if tr.lagTarget != 0 && (tr.query.kind != readLag || tr.lagTarget < minLagTarget || tr.lagTarget > maxLagTarget) {
			t.Errorf("lagTarget %v in %v mode", tr.lagTarget, tr.query.kind)
		}
		_ = tr.Evaluate(sources.Sample{Value: 1e6, Activity: 1e6})
		m := tr.Evaluate(sources.Sample{Value: 1e18, Activity: 1e18, Flow: &sources.Flow{Produced: 1e18, PerConsumer: 1e-300}})
		if m.Replicas < 0 || m.Replicas > math.MaxInt32 {
			t.Errorf("replicas %d", m.Replicas)
		}
	})
}
