package builtin

import (
	"errors"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// TestRulesAcrossKeys: options of a source that decide a replica count need
// metricMode: replicas, which the core checks from what the source parsed;
// and a misspelt key of each real source is refused with a hint.
func TestRulesAcrossKeys(t *testing.T) {
	kafka := map[string]string{"source": "kafka", "bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t"}
	redis := map[string]string{"source": "redis", "address": "r:6379", "stream": "s", "consumerGroup": "g", "lagCount": "10"}
	prom := map[string]string{"source": "inference", "mode": "prometheus", "serverAddress": "http://p:9090", "query": "up", "threshold": "1"}
	with := func(md map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range md {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	for _, tc := range []struct {
		name string
		md   map[string]string
		key  string
		want []string // in the error; none: valid
	}{
		{"kafka lagTarget in raw mode", with(kafka, "lagTarget", "30s"), "lagTarget", []string{`"30s"`, "requires metricMode: replicas", "lagThreshold"}},
		{"kafka lagTarget, raw spelled out", with(kafka, "lagTarget", "30s", "metricMode", "raw"), "lagTarget", []string{"requires metricMode"}},
		{"kafka lagTarget in replicas mode", with(kafka, "lagTarget", "30s", "metricMode", "replicas"), "", nil},
		{"kafka drainGoal in raw mode", with(kafka, "drainGoal", "60s"), "drainGoal", []string{`"60s"`, "requires metricMode: replicas", "latency goal"}},
		{"kafka drainGoal in replicas mode", with(kafka, "drainGoal", "60s", "metricMode", "replicas"), "", nil},
		{"redis lagTarget in raw mode", with(redis, "lagTarget", "30s"), "lagTarget", []string{`"30s": requires metricMode: replicas`, "lagCount"}},
		{"redis lagTarget in replicas mode", with(redis, "lagTarget", "30s", "metricMode", "Replicas"), "", nil},
		{"kafka typo", with(kafka, "lagThreshhold", "5"), "lagThreshhold", []string{`did you mean "lagThreshold"?`}},
		{"redis typo", with(redis, "lagcount", "5"), "lagcount", []string{`did you mean "lagCount"?`}},
		{"inference typo", with(prom, "treshold", "5"), "treshold", []string{`did you mean "threshold"?`}},
		{"a key of another source", with(kafka, "listName", "q"), "listName", []string{"is not a key of source kafka"}},
		{"KEDA's own keys", with(kafka, "scalerAddress", "tide:9090", "enableTLS", "false", "tlsCertFile", "/x"), "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Registry(Options{}).Parse(tc.md)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("Parse = %v; want a ConfigError naming %q", err, tc.key)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

// TestSourceWarnings: an inference scrape trigger with no wake signal (no
// model, no eppTargets) says, through the trigger core, that it cannot
// activate from zero; with eppTargets it says nothing. explain prints these
// (pkg/explain Warnings).
func TestSourceWarnings(t *testing.T) {
	scrape := map[string]string{"source": "inference", "targets": "http://pod:8000/metrics", "targetWaiting": "4"}
	tr, err := Registry(Options{}).Parse(scrape)
	if err != nil {
		t.Fatal(err)
	}
	if w := tr.Warnings(); len(w) != 1 || !strings.Contains(w[0], "cannot activate a workload from zero") {
		t.Errorf("warnings %q; want the no-wake-signal warning", w)
	}
	scrape["eppTargets"] = "http://epp:9090/metrics"
	if tr, err = Registry(Options{}).Parse(scrape); err != nil {
		t.Fatal(err)
	}
	if w := tr.Warnings(); len(w) != 0 {
		t.Errorf("with eppTargets: warnings %q; want none", w)
	}
}
