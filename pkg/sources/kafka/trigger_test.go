package kafka

import (
	"regexp"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name     string
		md       metadata.Metadata
		s        sources.Sample
		replicas int32 // the HPA's AverageValue proposal from 0 replicas
		active   bool
		reason   string
	}{
		{"below cap", with(), sources.Sample{Value: 55, Activity: 55, Capacity: 10}, 6, true, ""},
		{"KEDA off-by-one: 10 partitions, lag 105", with(), sources.Sample{Value: 105, Activity: 105, Capacity: 10}, 10, true, "capped at 10 partitions"},
		{"exactly partitions x threshold", with(), sources.Sample{Value: 100, Activity: 100, Capacity: 10}, 10, true, ""},
		{"far above cap", with(), sources.Sample{Value: 1e9, Activity: 1e9, Capacity: 3}, 3, true, "capped at 3 partitions"},
		{"allowIdleConsumers lifts the cap", with("allowIdleConsumers", "true"), sources.Sample{Value: 105, Activity: 105, Capacity: 10}, 11, true, ""},
		{"capacity 0 is unbounded", with(), sources.Sample{Value: 105, Activity: 105}, 11, true, ""},
		{"fractional threshold", with("lagThreshold", "0.3"), sources.Sample{Value: 10, Activity: 10, Capacity: 4}, 4, true, "capped at 4 partitions"},
		{"idle", with(), sources.Sample{Capacity: 10}, 0, false, ""},
		{"activation threshold is exclusive", with("activationLagThreshold", "5"), sources.Sample{Value: 5, Activity: 5, Capacity: 10}, 1, false, ""},
		{"activity above threshold", with("activationLagThreshold", "5"), sources.Sample{Value: 0, Activity: 6, Capacity: 10}, 0, true, ""},
		{"even: 12 partitions, 5 replicas -> 6", with("topic", "t", "ensureEvenDistributionOfPartitions", "true"),
			sources.Sample{Value: 45, Activity: 45, Capacity: 12}, 6, true, "snapped to factor 6 of 12 partitions"},
		{"even: already a factor", with("topic", "t", "ensureEvenDistributionOfPartitions", "true"),
			sources.Sample{Value: 31, Activity: 31, Capacity: 12}, 4, true, ""},
		{"even: capped at partitions first", with("topic", "t", "ensureEvenDistributionOfPartitions", "true"),
			sources.Sample{Value: 1000, Activity: 1000, Capacity: 12}, 12, true, "capped at 12 partitions"},
		{"even: prime partition count", with("topic", "t", "ensureEvenDistributionOfPartitions", "true"),
			sources.Sample{Value: 21, Activity: 21, Capacity: 7}, 7, true, "snapped to factor 7 of 7 partitions"},
		{"even: zero stays zero", with("topic", "t", "ensureEvenDistributionOfPartitions", "true"),
			sources.Sample{Capacity: 12}, 0, false, ""},
		{"even with idle consumers beyond partitions", with("topic", "t", "ensureEvenDistributionOfPartitions", "true", "allowIdleConsumers", "true"),
			sources.Sample{Value: 150, Activity: 150, Capacity: 12}, 15, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Parse(tt.md, testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			m := tr.Evaluate(tt.s)
			got := hpa.AverageValueReplicas(hpa.Milli(m.Value), hpa.Milli(tr.Target()), 0, hpa.DefaultTolerances)
			// Activity above activationLagThreshold is what the trigger
			// core's latch activates on.
			if active := tt.s.Activity > tr.Activation(); got != tt.replicas || active != tt.active || m.Reason != tt.reason {
				t.Errorf("Evaluate = %+v -> %d replicas; want %d replicas, active %v, reason %q", m, got, tt.replicas, tt.active, tt.reason)
			}
			if m.Value > tt.s.Value && !strings.HasPrefix(m.Reason, "snapped") {
				t.Errorf("value raised from %v to %v without snapping", tt.s.Value, m.Value)
			}
		})
	}
}

func TestSmallestFactorAtLeast(t *testing.T) {
	tests := []struct{ n, r, want int }{
		{12, 5, 6}, {12, 1, 1}, {12, 0, 1}, {12, 7, 12}, {12, 13, 12}, {7, 2, 7}, {30, 11, 15}, {1, 1, 1},
	}
	for _, tt := range tests {
		if got := smallestFactorAtLeast(tt.n, tt.r); got != tt.want {
			t.Errorf("smallestFactorAtLeast(%d, %d) = %d, want %d", tt.n, tt.r, got, tt.want)
		}
	}
}

func TestMetricName(t *testing.T) {
	valid := regexp.MustCompile(`^[a-z0-9.-]{1,60}$`)
	long := strings.Repeat("group", 20)
	tests := []struct {
		name   string
		group  string
		topics []string
		want   string
	}{
		{"no topic", "g", nil, "kafka-g"},
		{"topics joined", "orders-consumer", []string{"a", "b"}, "kafka-orders-consumer-a.b"},
		{"sanitized", "My_Group:1", []string{"T_1"}, "kafka-my-group-1-t-1"},
		{"non-ascii", "grüppe", nil, "kafka-gr-ppe"},
		{"long names are hashed", long, []string{"t"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metricName(tt.group, tt.topics)
			if !valid.MatchString(got) {
				t.Errorf("metricName = %q: not [a-z0-9.-]{1,60}", got)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("metricName = %q, want %q", got, tt.want)
			}
		})
	}
	a, b := metricName(long, []string{"t1"}), metricName(long, []string{"t2"})
	if a == b || len(a) != 60 || a[:51] != b[:51] {
		t.Errorf("long names %q and %q: want 60 chars, same prefix, different hash", a, b)
	}
	// Pinned (checked against an independent FNV-1a): the name must not
	// change between processes or versions, since the HPA's metric name
	// is built from it.
	if a != "kafka-groupgroupgroupgroupgroupgroupgroupgroupgroup-255bfeb0" {
		t.Errorf("long name %q changed", a)
	}
}

// Triggers that differ only in thresholds share one reading; every option
// that changes the sample makes a different one.
func TestQueryKey(t *testing.T) {
	ref := mustParse(t, nil, with("topic", "b,a", "partitionLimitation", "1,2,3"))
	same := []metadata.Metadata{
		with("topic", "a,b", "partitionLimitation", "1-3", "lagThreshold", "99", "activationLagThreshold", "3",
			"bootstrapServers", "b1:9092,b2:9092,b1:9092"),
		with("topic", "a,b", "partitionLimitation", "3,2,1", "ensureEvenDistributionOfPartitions", "true"),
	}
	for _, md := range same {
		if k := mustParse(t, nil, md).Query().Key(); k != ref.Query().Key() {
			t.Errorf("key %q differs from %q", k, ref.Query().Key())
		}
	}
	different := []metadata.Metadata{
		with("topic", "a,b", "partitionLimitation", "1-3", "consumerGroup", "other"),
		// allowIdleConsumers lifts the cap, so the poll need not count members.
		with("topic", "a,b", "partitionLimitation", "1-3", "allowIdleConsumers", "true"),
		with("topic", "a", "partitionLimitation", "1-3"),
		with("topic", "a,b", "partitionLimitation", "1-4"),
		with("topic", "a,b"),
		with("topic", "a,b", "partitionLimitation", "1-3", "offsetResetPolicy", "earliest"),
		with("topic", "a,b", "partitionLimitation", "1-3", "scaleToZeroOnInvalidOffset", "true"),
		with("topic", "a,b", "partitionLimitation", "1-3", "excludePersistentLag", "true"),
		with("topic", "a,b", "partitionLimitation", "1-3", "limitToPartitionsWithLag", "true"),
		with("topic", "a,b", "partitionLimitation", "1-3", "bootstrapServers", "b3:9092"),
		with("topic", "a,b", "partitionLimitation", "1-3", "tls", "enable"),
		with("topic", "a,b", "partitionLimitation", "1-3", "sasl", "plaintext", "username", "u", "password", "p"),
	}
	for _, md := range different {
		if k := mustParse(t, nil, md).Query().Key(); k == ref.Query().Key() {
			t.Errorf("metadata %v: key %q equals the reference", md, k)
		}
	}
}

func TestUpstreamKeyHidesCredentials(t *testing.T) {
	a := mustParse(t, nil, with("sasl", "scram_sha256", "username", "user", "password", "pw-SECRET-a"))
	b := mustParse(t, nil, with("sasl", "scram_sha256", "username", "user", "password", "pw-SECRET-b"))
	ka, kb := a.Query().Upstream().Key, b.Query().Upstream().Key
	if ka == kb {
		t.Error("different passwords share an upstream")
	}
	for _, k := range []string{ka, kb, a.Query().Key(), a.Query().Upstream().Name} {
		if strings.Contains(k, "SECRET") || strings.Contains(k, "user") {
			t.Errorf("key %q holds a credential", k)
		}
	}
}
