package sources

// Measurement is what a trigger makes of a Sample: the metric value to send
// to the HPA and whether the workload should be active.
type Measurement struct {
	// Value is the metric value (already capped, e.g. at partitions x target).
	Value float64
	// Active reports whether the demand is above the activation threshold.
	Active bool
	// Replicas is the count the trigger decides itself, for metricMode
	// replicas: what the HPA's AverageValue arithmetic derives from Value
	// and the target, after the source's own rules (partition cap, even
	// distribution, lagTarget, inference windows).
	Replicas int64
	// Rule names the source rule that shaped Value or Replicas, for
	// explain and the limiting-rule metric: "PartitionCapped",
	// "EvenDistribution", "LagTarget"; empty when none did.
	Rule string
	// Reason says why Value differs from the sample's raw demand, e.g.
	// "capped at 10 partitions"; empty when it does not.
	Reason string
}
