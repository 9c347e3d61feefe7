package quality

import "github.com/tide-scaler/tide/pkg/hpa"

// kedaKafka is KEDA v2.21's kafka scaler (pkg/scalers/kafka_scaler.go,
// getTotalLag and GetMetricsAndActivity) for one topic with the defaults
// allowIdleConsumers false, limitToPartitionsWithLag false,
// ensureEvenDistributionOfPartitions false, excludePersistentLag false. It
// reads the offsets afresh on every call, as KEDA does on every HPA metric
// request and every polling tick.
type kedaKafka struct {
	threshold, activation int64 // lagThreshold, activationLagThreshold: int64 in KEDA
}

// totalLag sums latest - committed over the partitions (every partition
// has a commit here) and caps it as KEDA does: when the integer quotient
// totalLag/lagThreshold exceeds the partition count, the lag becomes
// partitions*lagThreshold. The quotient truncates, so 10 partitions,
// threshold 10 and lag 105 pass uncapped and ask for 11 replicas.
func (k kedaKafka) totalLag(v view) int64 {
	var lag int64
	for p := range v.logEnd {
		lag += v.logEnd[p] - v.committed[p]
	}
	parts := int64(len(v.logEnd))
	if lag/k.threshold > parts {
		lag = parts * k.threshold
	}
	return lag
}

func (k kedaKafka) poll(int, view) {}

// metric is GenerateMetricInMili(totalLag) against the AverageValue target
// lagThreshold (GetMetricSpecForScaling).
func (k kedaKafka) metric(_ int, v view) hpa.MetricInput {
	return hpa.MetricInput{
		Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: k.threshold * 1000},
		Values: []int64{hpa.Milli(float64(k.totalLag(v)))},
	}
}

// active is totalLagWithPersistent > activationLagThreshold; without
// excludePersistentLag that lag is the uncapped total.
func (k kedaKafka) active(_ int, v view) bool {
	var lag int64
	for p := range v.logEnd {
		lag += v.logEnd[p] - v.committed[p]
	}
	return lag > k.activation
}

// executor is KEDA's scale loop for one ScaledObject
// (pkg/scaling/executor/scale_scaledobjects.go), run every pollingInterval:
// active with 0 replicas scales to max(minReplicaCount, 1); active records
// the last active time; inactive with replicas and minReplicaCount 0 scales
// to 0 once the last active time is more than cooldownPeriod ago (or never
// set: initialCooldownPeriod defaults to 0); below minReplicaCount it
// scales to minReplicaCount. Between 1 and max the HPA decides.
type executor struct {
	minReplicas int
	cooldown    int // seconds
	lastActive  int
	everActive  bool
}

// Defaults of a ScaledObject.
const (
	kedaPollingInterval = 30 // seconds
	kedaCooldown        = 300
)

// step returns the replica count the executor sets, and whether it sets one.
func (x *executor) step(now int, active bool, spec int) (int, bool) {
	if active {
		x.lastActive, x.everActive = now, true
		if spec == 0 {
			return max(x.minReplicas, 1), true
		}
		return spec, false
	}
	switch {
	case spec > 0 && x.minReplicas == 0 && (!x.everActive || x.lastActive+x.cooldown < now):
		return 0, true
	case spec < x.minReplicas:
		return x.minReplicas, true
	}
	return spec, false
}
