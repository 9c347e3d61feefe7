package lagtime

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestReplicas(t *testing.T) {
	rates := func(produce, per float64) Estimate { return Estimate{ProduceRate: produce, PerConsumerRate: per} }
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name     string
		lag      float64
		e        Estimate
		target   time.Duration
		capacity int
		want     int
		ok       bool
		reason   string // a substring of the reason
	}{
		{"keep up and drain", 3000, rates(120, 25), 30 * time.Second, 0, 9, true,
			"produce 120.0/s + drain 3000 in 30s = 220.0/s at 25.0/s per consumer -> 9"},
		{"capped at the partitions", 3000, rates(120, 25), 30 * time.Second, 6, 6, true, "-> 9, capped at 6 partitions"},
		{"under the cap", 3000, rates(120, 25), 30 * time.Second, 12, 9, true, "-> 9"},
		{"per-consumer rate unknown", 3000, rates(120, 0), 30 * time.Second, 12, 0, false, "not observed yet"},
		{"nothing to do", 0, rates(0, 25), 30 * time.Second, 12, 0, true, "-> 0"},
		{"production only", 0, rates(120, 25), 30 * time.Second, 12, 5, true, "-> 5"},
		{"drain only", 1500, rates(0, 25), 30 * time.Second, 12, 2, true, "-> 2"},
		{"exact quotient is not rounded up", 900, rates(90, 40), 30 * time.Second, 0, 3, true, "-> 3"},
		{"quotient one ulp above an integer is not rounded up", 0, rates(0.1+0.2, 0.1), time.Second, 0, 3, true, "-> 3"},
		{"a real excess is rounded up", 0, rates(3.001, 1), time.Second, 0, 4, true, "-> 4"},
		{"a trickle of production needs one", 0, rates(0.001, 100), time.Second, 0, 1, true, "-> 1"},
		{"one message of lag needs one", 1, rates(0, 100), time.Hour, 0, 1, true, "-> 1"},
		{"lag NaN", nan, rates(120, 25), 30 * time.Second, 12, 0, false, "lag NaN"},
		{"lag +Inf", inf, rates(120, 25), 30 * time.Second, 12, 0, false, "lag +Inf"},
		{"lag negative reads as 0", -500, rates(120, 25), 30 * time.Second, 12, 5, true, "drain 0 in"},
		{"lag -Inf reads as 0", math.Inf(-1), rates(120, 25), 30 * time.Second, 12, 5, true, "drain 0 in"},
		{"produce NaN", 10, rates(nan, 25), 30 * time.Second, 12, 0, false, "produce rate NaN"},
		{"produce +Inf", 10, rates(inf, 25), 30 * time.Second, 12, 0, false, "produce rate +Inf"},
		{"produce negative reads as 0", 1500, rates(-50, 25), 30 * time.Second, 12, 2, true, "produce 0.0/s"},
		{"per-consumer NaN", 10, rates(1, nan), 30 * time.Second, 12, 0, false, "per-consumer rate NaN"},
		{"per-consumer negative", 10, rates(1, -1), 30 * time.Second, 12, 0, false, "per-consumer rate -1"},
		{"per-consumer +Inf", 10, rates(1, inf), 30 * time.Second, 12, 0, false, "per-consumer rate +Inf"},
		{"target 0", 10, rates(1, 25), 0, 12, 0, false, "lag target 0s"},
		{"target negative", 10, rates(1, 25), -time.Second, 12, 0, false, "lag target -1s"},
		{"negative capacity is no cap", 3000, rates(120, 25), 30 * time.Second, -3, 9, true, "-> 9"},
		{"beyond int32 saturates", 1e300, rates(0, 1e-300), time.Second, 0, math.MaxInt32, true, "-> 2147483647"},
		{"beyond float64 saturates", math.MaxFloat64, rates(math.MaxFloat64, 1e-3), time.Nanosecond, 0, math.MaxInt32, true, ""},
		{"beyond int32, capped", 1e300, rates(0, 1e-300), time.Second, 12, 12, true, "capped at 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok, reason := Replicas(tt.lag, tt.e, tt.target, tt.capacity)
			if n != tt.want || ok != tt.ok {
				t.Errorf("Replicas = %d, %v (%q); want %d, %v", n, ok, reason, tt.want, tt.ok)
			}
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", reason, tt.reason)
			}
		})
	}
}

// TestReplicasEnough checks the defining inequality around the answer: n
// replicas suffice and n-1 do not, over a grid of inputs.
func TestReplicasEnough(t *testing.T) {
	for _, produce := range []float64{0, 0.5, 7, 120, 999.9} {
		for _, lag := range []float64{0, 1, 29, 3000, 1e6} {
			for _, per := range []float64{0.3, 1, 25, 1000} {
				e := Estimate{ProduceRate: produce, PerConsumerRate: per}
				n, ok, reason := Replicas(lag, e, 30*time.Second, 0)
				need := produce + lag/30
				if !ok {
					t.Fatalf("Replicas(%v, %+v) not ok: %s", lag, e, reason)
				}
				tooFew := n > 1 && float64(n-1)*per >= need*(1+1e-9)
				if float64(n)*per < need*(1-1e-9) || tooFew || (need > 0) != (n > 0) {
					t.Errorf("Replicas(%v, %+v) = %d: %s", lag, e, n, reason)
				}
			}
		}
	}
}
