package trigger

import (
	"errors"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/strategy"
)

func md(kv ...string) map[string]string {
	m := map[string]string{"source": "queue", "queue": "jobs"}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestParseErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct {
		name    string
		md      map[string]string
		key     string
		wantMsg []string
		notMsg  string
	}{
		{"misspelt key names the nearest", md("targt", "5"), "targt", []string{"not a key of source queue", `did you mean "target"?`}, ""},
		{"wrong case is a typo too", md("Target", "5"), "Target", []string{`did you mean "target"?`}, ""},
		{"shared key misspelt", md("metricMod", "replicas"), "metricMod", []string{`did you mean "metricMode"?`}, ""},
		{"far from every key: no hint", md("zzzzzzzzzzzz", "1"), "zzzzzzzzzzzz", []string{"not a key"}, "did you mean"},
		{"the value of an unknown key is not repeated", md("pasword", "hunter2"), "pasword", []string{`did you mean "password"?`}, "hunter2"},
		{"unknown source", map[string]string{"source": "kafak"}, "source", []string{`"kafak"`, "[queue]"}, ""},
		{"no source", map[string]string{"queue": "q"}, "source", []string{"is required"}, ""},
		{"source's own error", md("target", "-1"), "target", []string{`"-1"`}, ""},
		{"metricName", md("metricName", "-bad-"), "metricName", []string{`"-bad-"`}, ""},
		{"shared key", md("metricMode", "percent"), "metricMode", []string{`"percent"`, "raw, replicas"}, ""},
		{"cross-key rule", md("window", "30s"), "window", []string{`"30s"`, "requires metricMode: replicas", "raw mode divides"}, ""},
		{"cross-key rule, raw spelled out", md("window", "30s", "metricMode", "raw"), "window", []string{"requires metricMode"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := registry().Parse(tc.md)
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) || ce.Key != tc.key {
				t.Fatalf("Parse = %v; want a ConfigError naming %q", err, tc.key)
			}
			for _, w := range tc.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tc.notMsg != "" && strings.Contains(err.Error(), tc.notMsg) {
				t.Errorf("error %q says %q", err, tc.notMsg)
			}
		})
	}
}

func TestParseAcceptsSharedAndKEDAKeys(t *testing.T) {
	m := md("window", "30s", "metricMode", "replicas", "deactivationThreshold", "0", "minActiveDuration", "1m",
		"hpaName", "h", "metricName", "jobs-depth")
	for _, k := range KEDAKeys {
		m[k] = "x"
	}
	tr, err := registry().Parse(m)
	if err != nil {
		t.Fatal(err)
	}
	if tr.MetricName() != "jobs-depth" || tr.Source() != "queue" || tr.Options().Mode != strategy.Replicas || tr.Target() != 1 || tr.SourceTarget() != 5 {
		t.Errorf("trigger %+v", tr)
	}
	want := []string{"activation", "caCert", "deactivationThreshold", "enableTLS", "hpaBehavior", "hpaName", "metricMode",
		"metricName", "minActiveDuration", "password", "passwordFile", "queue", "scalerAddress", "source", "target",
		"tlsCertFile", "tlsClientCert", "tlsClientKey", "unknownGracePeriod", "unsafeSsl", "window"}
	if got := registry().Keys("queue"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Keys = %v, want %v", got, want)
	}
}

func TestParseLimits(t *testing.T) {
	many := md()
	for i := range MaxMetadataKeys {
		many[strings.Repeat("k", i+1)] = ""
	}
	big := md("queue", strings.Repeat("x", MaxMetadataBytes))
	for name, m := range map[string]map[string]string{"keys": many, "bytes": big} {
		var le *LimitError
		if _, err := registry().Parse(m); !errors.As(err, &le) {
			t.Errorf("%s: %v, want a LimitError", name, err)
		}
	}
}

func TestNewRegistryRejectsDuplicates(t *testing.T) {
	if _, err := NewRegistry(queueSource(), queueSource()); err == nil {
		t.Error("a source registered twice was accepted")
	}
	if _, err := NewRegistry(Source{Name: "x"}); err == nil {
		t.Error("a source without Parse was accepted")
	}
}
