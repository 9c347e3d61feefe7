package kafka

import (
	"testing"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestUnstickCap: with the lag far above the cap, the HPA (pkg/hpa's
// arithmetic, default tolerance, both of KEDA's milli conversions) moves
// from every member count to the partitions, or the nearest count its
// tolerance allows, and from there nowhere: the cap alone leaves 11 of 12
// for good.
func TestUnstickCap(t *testing.T) {
	for _, tc := range []struct {
		partitions int
		threshold  string
		want       map[int]int32 // members -> the HPA's proposal, with maxReplicas above it
	}{
		{12, "100", map[int]int32{1: 12, 6: 12, 10: 12, 11: 13, 12: 12, 13: 12, 14: 12, 20: 12}},
		{12, "0.3", map[int]int32{10: 12, 11: 13, 12: 12, 13: 12}},
		// 30 partitions: 28 and 29 leave the band upwards (31, 32); 31 and
		// 32 cannot reach 30 (the band's lower edge gives 28 and 29), so
		// they keep the cap's answer, which keeps them: one or two idle.
		{30, "10", map[int]int32{27: 30, 28: 31, 29: 32, 30: 30, 31: 31, 32: 32, 34: 30}},
		{10, "10", map[int]int32{9: 10, 10: 10, 11: 10}},
		{3, "7", map[int]int32{1: 3, 2: 3, 3: 3, 4: 3}},
	} {
		tr := mustParse(t, nil, map[string]string{"bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t",
			"lagThreshold": tc.threshold})
		for members, want := range tc.want {
			s := sources.Sample{Value: 1e9, Capacity: tc.partitions, Flow: &sources.Flow{Members: members}}
			m := tr.Evaluate(s)
			for _, conv := range []func(float64) int64{hpa.Milli, hpa.MilliRounded} {
				got := hpa.AverageValueReplicas(conv(m.Value), conv(tr.Target()), int32(members), hpa.DefaultTolerances)
				if got != want {
					t.Errorf("%d partitions, threshold %s, %d members: value %v (%s) -> HPA proposes %d, want %d",
						tc.partitions, tc.threshold, members, m.Value, m.Reason, got, want)
				}
			}
			if m.Replicas != int64(tc.partitions) {
				t.Errorf("%d partitions, %d members: replicas %d, want the partitions", tc.partitions, members, m.Replicas)
			}
			// Where the HPA goes from there, it stays.
			if want != int32(members) {
				next := tr.Evaluate(sources.Sample{Value: 1e9, Capacity: tc.partitions, Flow: &sources.Flow{Members: int(want)}})
				if got := hpa.AverageValueReplicas(hpa.Milli(next.Value), hpa.Milli(tr.Target()), want, hpa.DefaultTolerances); got != want && got != int32(tc.partitions) {
					t.Errorf("%d partitions, %d members -> %d -> %d: not settled", tc.partitions, members, want, got)
				}
			}
		}
	}
	// Unknown members: the cap alone.
	tr := mustParse(t, nil, map[string]string{"bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t", "lagThreshold": "100"})
	if m := tr.Evaluate(sources.Sample{Value: 1e9, Capacity: 12, Flow: &sources.Flow{}}); m.Value != hpa.CapValue(12, 100) {
		t.Errorf("no members: value %v, want the cap %v", m.Value, hpa.CapValue(12, 100))
	}
}
