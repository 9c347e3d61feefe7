package migrate

import (
	"reflect"
	"strings"
	"testing"
)

// TestKafkaLag checks the recomputation against KEDA v2.21.0's getTotalLag
// (pkg/scalers/kafka_scaler.go lines 907-957), case by case.
func TestKafkaLag(t *testing.T) {
	twelve := func(each int64) []int64 {
		l := make([]int64, 12)
		for i := range l {
			l[i] = each
		}
		return l
	}
	// 12 partitions, lags 40, 37, ..., 7: the demo's 282.
	demo := make([]int64, 12)
	for p := range demo {
		demo[p] = 40 - 3*int64(p)
	}
	tests := []struct {
		name       string
		lags       []int64
		opts       KafkaOptions
		wantValue  int64
		wantActive bool
	}{
		{"sum under the cap", []int64{3, 4, 0}, KafkaOptions{LagThreshold: 10}, 7, true},
		// lines 948-950: 282/23 = 12 in integer division is not > 12 partitions: uncapped.
		{"integer division leaves up to a threshold above the cap", demo, KafkaOptions{LagThreshold: 23}, 282, true},
		{"capped once lag/threshold exceeds the partitions", demo, KafkaOptions{LagThreshold: 20}, 240, true},
		{"allowIdleConsumers: no cap", demo, KafkaOptions{LagThreshold: 20, AllowIdleConsumers: true}, 282, true},
		// lines 944-946: the cap is the partitions with lag.
		{"limitToPartitionsWithLag", []int64{100, 0, 0, 50}, KafkaOptions{LagThreshold: 10, LimitToPartitionsWithLag: true}, 20, true},
		// lines 939-943: 12 partitions' factors 1 2 3 4 6 12; lag 45 at 10 snaps to 6 × 10.
		{"ensureEvenDistributionOfPartitions", append(twelve(0)[:11], 45), KafkaOptions{LagThreshold: 10, EnsureEvenDistribution: true}, 60, true},
		// line 903: active when the sum is above activationLagThreshold.
		{"at the activation threshold: inactive", []int64{2, 3}, KafkaOptions{LagThreshold: 10, ActivationLagThreshold: 5}, 5, false},
		{"above it: active", []int64{2, 4}, KafkaOptions{LagThreshold: 10, ActivationLagThreshold: 5}, 6, true},
		{"no lag", twelve(0), KafkaOptions{LagThreshold: 10}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, a := KafkaLag(tc.lags, tc.opts)
			if v != tc.wantValue || a != tc.wantActive {
				t.Errorf("KafkaLag = %d, %t; want %d, %t", v, a, tc.wantValue, tc.wantActive)
			}
		})
	}
}

// TestRecompute checks metric names, targets, values and activity of each
// KEDA type, and where KEDA would fail or read something else.
func TestRecompute(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		md      map[string]string
		index   int
		o       Observed
		want    KEDAReading
		wantErr string
		note    string
	}{
		{"kafka with topic", "kafka", map[string]string{"topic": "orders.v1", "lagThreshold": "23"}, 0,
			Observed{Parts: []float64{150, 132}}, KEDAReading{MetricName: "s0-kafka-orders-v1", Target: 23, Value: 46, Active: true}, "", ""},
		{"kafka without topic", "kafka", map[string]string{"consumerGroup": "g"}, 2,
			Observed{Parts: []float64{0}}, KEDAReading{MetricName: "s2-kafka-g-topics", Target: 10}, "", ""},
		{"redis list", "redis", map[string]string{"listName": "jobs", "activationListLength": "3"}, 1,
			Observed{Value: 3}, KEDAReading{MetricName: "s1-redis-jobs", Target: 5, Value: 3}, "", ""},
		{"redis glob is literal to KEDA", "redis", map[string]string{"listName": "bull:*:wait"}, 0,
			Observed{Value: 9}, KEDAReading{MetricName: "s0-redis-bull-*-wait", Target: 5, Value: 9, Active: true}, "", "literally"},
		{"redis-streams xlen", "redis-streams", map[string]string{"stream": "ev"}, 0,
			Observed{Value: 4}, KEDAReading{MetricName: "s0-redis-streams-ev", Target: 5, Value: 4, Active: true}, "", ""},
		{"redis-streams lag", "redis-cluster-streams", map[string]string{"stream": "ev", "consumerGroup": "g", "lagCount": "7"}, 0,
			Observed{Value: 4}, KEDAReading{MetricName: "s0-redis-streams-ev", Target: 7, Value: 4, Active: true}, "", ""},
		{"redis-streams pending", "redis-streams", map[string]string{"stream": "ev", "consumerGroup": "g", "pendingEntriesCount": "3"}, 0,
			Observed{Value: 0}, KEDAReading{MetricName: "s0-redis-streams-ev", Target: 3}, "", ""},
		{"prometheus", "prometheus", map[string]string{"threshold": "2.5", "activationThreshold": "1"}, 0,
			Observed{Value: 1.5}, KEDAReading{MetricName: "s0-prometheus", Target: 2.5, Value: 1.5, Active: true}, "", ""},
		{"prometheus empty answer is 0", "prometheus", map[string]string{"threshold": "2"}, 0,
			Observed{Unknown: true}, KEDAReading{MetricName: "s0-prometheus", Target: 2}, "", ""},
		{"prometheus empty answer without ignoreNullValues fails", "prometheus", map[string]string{"threshold": "2", "ignoreNullValues": "false"}, 0,
			Observed{Unknown: true}, KEDAReading{}, "ignoreNullValues is false", ""},
		{"bad lagThreshold", "kafka", map[string]string{"lagThreshold": "ten"}, 0, Observed{}, KEDAReading{}, `"lagThreshold"`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Recompute(tc.typ, tc.md, tc.index, tc.o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			notes := strings.Join(r.Notes, "\n")
			r.Notes = nil
			if !reflect.DeepEqual(r, tc.want) {
				t.Errorf("Recompute = %+v; want %+v", r, tc.want)
			}
			if !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q lack %q", notes, tc.note)
			}
		})
	}
}
