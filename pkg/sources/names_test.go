package sources

import (
	"regexp"
	"strings"
	"testing"
)

func TestMetricName(t *testing.T) {
	long := strings.Repeat("x", 80)
	for _, tc := range []struct{ raw, want string }{
		{"kafka-Orders_Group-t1.t2", "kafka-orders-group-t1.t2"},
		{"inference-Meta/Llama 3", "inference-meta-llama-3"},
		{"redis-bull:*:wait", "redis-bull---wait"},
	} {
		if got := MetricName(tc.raw); got != tc.want {
			t.Errorf("MetricName(%q) = %q; want %q", tc.raw, got, tc.want)
		}
	}
	a, b := MetricName("kafka-"+long+"a"), MetricName("kafka-"+long+"b")
	if len(a) != maxMetricName || a == b || !regexp.MustCompile(`^[a-z0-9.-]+-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("long names %q and %q: want %d characters, distinct, ending in a hash", a, b, maxMetricName)
	}
	if MetricName("kafka-"+long+"a") != a {
		t.Error("MetricName is not deterministic")
	}
}

func TestFingerprint(t *testing.T) {
	if Fingerprint("", "") != "" {
		t.Error("no credentials must give no fingerprint")
	}
	joined, split := Fingerprint("s3cret", ""), Fingerprint("s3c", "ret")
	if joined == split || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(joined) {
		t.Errorf("fingerprints %q %q: want 12 hex digits that differ when bytes move between fields", joined, split)
	}
}
