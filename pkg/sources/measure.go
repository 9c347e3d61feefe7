package sources

// Measurement is what a trigger makes of a Sample: the metric value to send
// to the HPA and whether the workload should be active.
type Measurement struct {
	// Value is the metric value (already capped, e.g. at partitions x target).
	Value float64
	// Active reports whether the demand is above the activation threshold.
	Active bool
	// Reason says why Value differs from the sample's raw demand, e.g.
	// "capped at 10 partitions"; empty when it does not.
	Reason string
}
