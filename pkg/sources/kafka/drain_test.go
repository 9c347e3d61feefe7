package kafka

import (
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestEvaluateDrainGoal: drainGoal sizes with lagtime.DrainReplicas from
// the flow the source reads, with the per-consumer rate measured, given
// (consumerRate) or, with a backlog, seen; lagThreshold decides otherwise.
//
// 12 partitions, goal 60 s, pod start 30 s, pause 10 s, lag 600 at 50/s
// with one member: a scale-up's backlog is 600 + 50*40 - have*30. At
// 20/s each it is 2000 -> 50 + 2000/60 = 83.3/s, which 6 consumers (2
// partitions each: 120/s) meet and 5 (3 each: 80/s) do not. At the 10/s
// one member is seen consuming it is 2300 -> 88.3/s: only 12 (120/s).
func TestEvaluateDrainGoal(t *testing.T) {
	md := map[string]string{"bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t",
		"metricMode": "replicas", "drainGoal": "60s", "drainPodStart": "30s", "drainRebalancePause": "10s", "lagThreshold": "1000"}
	tr := mustParse(t, nil, md)
	md["consumerRate"] = "20"
	hinted := mustParse(t, nil, md)
	delete(md, "consumerRate")
	md["allowIdleConsumers"] = "true"
	idle := mustParse(t, nil, md)
	skewed := func(f *sources.Flow) *sources.Flow {
		loads := make([]lagtime.PartLoad, 12)
		for i := range loads {
			loads[i] = lagtime.PartLoad{Lag: 50, Rate: 25.0 / 11}
		}
		loads[0].Rate = 25
		f.PartLoads = &loads
		return f
	}
	flow := func(per float64, age float64) *sources.Flow {
		return &sources.Flow{Produced: 50, Consumed: 10, PerConsumer: per, LagSeconds: age, Consumers: 1, Members: 1}
	}
	for _, tc := range []struct {
		name     string
		tr       *Trigger
		s        sources.Sample
		replicas int64
		rule     string
		reason   string
	}{
		{"measured", tr, sources.Sample{Value: 600, Capacity: 12, Flow: flow(20, 12)}, 6, RuleDrainGoal, "per-consumer rate measured"},
		// Half the arrivals on partition 0: the consumer holding it and
		// another (of 6) gets 27.3/s of its 20/s; only 12 (each its own).
		{"skewed partitions", tr, sources.Sample{Value: 600, Capacity: 12, Flow: skewed(flow(20, 12))}, 12, RulePartitionCapped, "every partition its own consumer"},
		{"consumerRate until measured", hinted, sources.Sample{Value: 600, Capacity: 12, Flow: flow(0, 12)}, 6, RuleDrainGoal, "per-consumer rate consumerRate"},
		{"measured beats consumerRate", hinted, sources.Sample{Value: 600, Capacity: 12, Flow: flow(10, 12)}, 12, RulePartitionCapped, "measured"},
		{"seen consuming with a backlog", tr, sources.Sample{Value: 600, Capacity: 12, Flow: flow(0, 12)}, 12, RulePartitionCapped, "seen consuming"},
		{"no backlog yet: lagThreshold", tr, sources.Sample{Value: 600, Capacity: 12, Flow: flow(0, 5)}, 1, "",
			"drainGoal: per-consumer rate not observed yet; lagThreshold decides"},
		{"no rates yet", tr, sources.Sample{Value: 600, Capacity: 12}, 1, "", "drainGoal: no rates yet; lagThreshold decides"},
		// Without the partition cap 88.3/s needs ceil(8.83) = 9 at 10/s.
		{"allowIdleConsumers: no partition count", idle, sources.Sample{Value: 600, Capacity: 12, Flow: flow(0, 12)}, 9, RuleDrainGoal, ""},
		{"idle", tr, sources.Sample{Capacity: 12, Flow: &sources.Flow{PerConsumer: 20, LatestKnown: true}}, 0, RuleDrainGoal, "-> 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.tr.Evaluate(tc.s)
			if m.Replicas != tc.replicas || m.Rule != tc.rule || !strings.Contains(m.Reason, tc.reason) {
				t.Errorf("got replicas %d rule %q reason %q; want %d %q containing %q", m.Replicas, m.Rule, m.Reason, tc.replicas, tc.rule, tc.reason)
			}
		})
	}
	// lagThreshold 100 would scale one member to 6 on 600 messages before
	// the rate is seen; the members stay until the backlog shows it, and
	// a smaller count from lagThreshold still goes through.
	md["lagThreshold"] = "100"
	delete(md, "allowIdleConsumers")
	low := mustParse(t, nil, md)
	young := &sources.Flow{Produced: 50, Consumed: 10, LagSeconds: 5, Consumers: 1, Members: 1}
	if m := low.Evaluate(sources.Sample{Value: 600, Capacity: 12, Flow: young}); m.Replicas != 1 || !strings.Contains(m.Reason, "waiting for the backlog") {
		t.Errorf("young backlog: replicas %d (%q), want the 1 member kept", m.Replicas, m.Reason)
	}
	stuck := &sources.Flow{Produced: 50, LagSeconds: 30, Consumers: 1, Members: 1}
	if m := low.Evaluate(sources.Sample{Value: 600, Capacity: 12, Flow: stuck}); m.Replicas != 6 {
		t.Errorf("old backlog, nothing seen consumed: replicas %d (%q), want lagThreshold's 6", m.Replicas, m.Reason)
	}
	three := &sources.Flow{Produced: 1, LagSeconds: 2, Consumers: 3, Members: 3}
	if m := low.Evaluate(sources.Sample{Value: 50, Capacity: 12, Flow: three}); m.Replicas != 1 {
		t.Errorf("scale-down from lagThreshold: replicas %d (%q), want 1", m.Replicas, m.Reason)
	}
	if key, _ := tr.NeedsReplicasMode(); key != keyDrainGoal {
		t.Errorf("NeedsReplicasMode names %q, want %s", key, keyDrainGoal)
	}
}
