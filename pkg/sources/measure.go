package sources

// Measurement is what a source makes of a Sample by its own rules. Whether
// the workload is active is not the source's to say: the trigger core
// decides it from Sample.Activity with the activation latch.
type Measurement struct {
	// Value is the metric value (already capped, e.g. at partitions x target).
	Value float64
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
