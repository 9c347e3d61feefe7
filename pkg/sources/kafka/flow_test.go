package kafka

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-scaler/tide/pkg/sources"
)

// TestPollFlow: lag in seconds from the log-end history, and rates from
// offset deltas, with the clock injected through Poll's now.
func TestPollFlow(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 1, "t")
	c.produce(t, "t", map[int32]int{0: 10})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 0}})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t"})
	u := open(t, tr)
	qs := []sources.Query{tr.Query()}
	poll := func(after time.Duration) *sources.Flow {
		s := mustSample(t, u.Poll(ctxT(t), t0.Add(after), qs)[0])
		if s.Flow == nil {
			t.Fatalf("poll at +%s: no flow", after)
		}
		return s.Flow
	}
	f := poll(0)
	if f.LagSeconds != 0 || f.LagSecondsExact {
		t.Errorf("first poll: lag %vs exact %v, want a lower bound of 0 (the lag predates the history)", f.LagSeconds, f.LagSecondsExact)
	}
	c.produce(t, "t", map[int32]int{0: 10})
	f = poll(10 * time.Second)
	if f.LagSeconds != 10 || f.LagSecondsExact {
		t.Errorf("second poll: lag %vs exact %v, want at least 10s", f.LagSeconds, f.LagSecondsExact)
	}
	if math.Abs(f.Produced-1) > 1e-9 {
		t.Errorf("produced %v/s, want 1 (10 messages in 10 s)", f.Produced)
	}
	// Offset 10, the oldest unconsumed, arrived a tenth of the way from the
	// poll that saw log end 10 (t0) to the one that saw 20 (t0+10s).
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 10}})
	f = poll(20 * time.Second)
	if math.Abs(f.LagSeconds-19) > 1e-6 || !f.LagSecondsExact {
		t.Errorf("third poll: lag %vs exact %v, want exactly 19s", f.LagSeconds, f.LagSecondsExact)
	}
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 20}})
	if f = poll(30 * time.Second); f.LagSeconds != 0 || !f.LagSecondsExact {
		t.Errorf("caught up: lag %vs exact %v, want 0 exact", f.LagSeconds, f.LagSecondsExact)
	}
	// Polls at 0, 10, 20 and 30 s: the cap's member count of a group with
	// no members is refreshed every emptyMembersMaxAge (2 min), not every
	// poll (a group with members: every 30 s, TestGroupReadMaxAge).
	if n := u.Stats().DescribeGroupsRequests; n != 1 {
		t.Errorf("%d DescribeGroups over polls at 0, 10, 20, 30 s; want 1: raw mode counts the members of an empty group for the cap (unstick) at most every %v", n, emptyMembersMaxAge)
	}
	poll(2*time.Minute + time.Second)
	if n := u.Stats().DescribeGroupsRequests; n != 2 {
		t.Errorf("%d DescribeGroups after a poll at 2 min 1 s; want 2", n)
	}
	// allowIdleConsumers lifts the cap: nothing to count members for.
	idle := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "allowIdleConsumers": "true"})
	ui := open(t, idle)
	mustSample(t, ui.Poll(ctxT(t), t0, []sources.Query{idle.Query()})[0])
	if n := ui.Stats().DescribeGroupsRequests; n != 0 {
		t.Errorf("%d DescribeGroups with allowIdleConsumers and no lagTarget or drainGoal, want 0", n)
	}
}

// TestPollConsumers: with lagTarget the poll counts the group's members
// that hold partitions of the topic, from DescribeGroups.
func TestPollConsumers(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 4, "t", "other")
	c.produce(t, "t", map[int32]int{0: 5})
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	for _, topic := range []string{"t", "t", "other"} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.bootstrap(), ",")...), kgo.ConsumerGroup("g"),
			kgo.ConsumeTopics(topic), kgo.DisableAutoCommit())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for ctx.Err() == nil {
				cl.PollFetches(ctx)
			}
		}()
		t.Cleanup(func() { cancel(); <-done; cl.Close() })
	}
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "metricMode": "replicas", "lagTarget": "30s"})
	u := open(t, tr)
	deadline := time.Now().Add(15 * time.Second)
	for i := 0; ; i++ {
		s := mustSample(t, u.Poll(ctxT(t), t0.Add(time.Duration(i)*time.Second), []sources.Query{tr.Query()})[0])
		if s.Flow != nil && s.Flow.Consumers == 2 {
			break // the consumer of "other" does not count
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumers = %+v after 15 s (notes %q), want 2 of the 3 members (those assigned t)", s.Flow, s.Notes)
		}
		time.Sleep(50 * time.Millisecond) // waits for the group to form, not for time to pass
	}
	if u.Stats().DescribeGroupsRequests == 0 {
		t.Error("no DescribeGroups counted")
	}
}

func TestEvaluateLagTarget(t *testing.T) {
	tr := mustParse(t, nil, map[string]string{"bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t",
		"metricMode": "replicas", "lagTarget": "30s", "lagThreshold": "1000"})
	flow := &sources.Flow{Produced: 120, PerConsumer: 25}
	for _, tc := range []struct {
		name     string
		s        sources.Sample
		replicas int64
		rule     string
		reason   string
	}{
		// (120/s + 3000/30s) / 25/s = 8.8 -> 9; lagThreshold alone would say 3.
		{"keeps up and drains in time", sources.Sample{Value: 3000, Capacity: 12, Flow: flow}, 9, RuleLagTarget, "-> 9"},
		{"capped at the partitions", sources.Sample{Value: 3000, Capacity: 8, Flow: flow}, 8, RulePartitionCapped, ""},
		{"no rates yet", sources.Sample{Value: 3000, Capacity: 12}, 3, "", "lagTarget: no rates yet; lagThreshold decides"},
		{"capacity unknown", sources.Sample{Value: 3000, Capacity: 12, Flow: &sources.Flow{Produced: 120}}, 3, "",
			"per-consumer rate not observed yet; lagThreshold decides"},
		{"idle", sources.Sample{Capacity: 12, Flow: &sources.Flow{PerConsumer: 25}}, 0, RuleLagTarget, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tr.Evaluate(tc.s)
			if m.Replicas != tc.replicas || m.Rule != tc.rule || !strings.Contains(m.Reason, tc.reason) {
				t.Errorf("got replicas %d rule %q reason %q; want %d %q containing %q", m.Replicas, m.Rule, m.Reason, tc.replicas, tc.rule, tc.reason)
			}
		})
	}
}

// TestPollDrainFlow: with drainGoal the poll counts members (DescribeGroups)
// and reports the latest interval's production rate from the second poll.
func TestPollDrainFlow(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 4, "t")
	c.produce(t, "t", map[int32]int{0: 5})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "metricMode": "replicas", "drainGoal": "60s"})
	u := open(t, tr)
	s := mustSample(t, u.Poll(ctxT(t), t0, []sources.Query{tr.Query()})[0])
	if s.Flow == nil || s.Flow.LatestKnown {
		t.Fatalf("first poll: flow %+v, want one without a latest rate", s.Flow)
	}
	c.produce(t, "t", map[int32]int{1: 6, 2: 4})
	s = mustSample(t, u.Poll(ctxT(t), t0.Add(2*time.Second), []sources.Query{tr.Query()})[0])
	if f := s.Flow; f == nil || !f.LatestKnown || f.LatestProduced != 5 {
		t.Fatalf("second poll: flow %+v, want latest production 10 messages / 2 s = 5/s", s.Flow)
	}
	// Per partition, the arrivals over the two polls (the history is
	// shorter than lagtime.SpreadWindow), for the law's skew sizing.
	if f := s.Flow; f.PartLoads == nil || len(*f.PartLoads) != 4 {
		t.Fatalf("second poll: part loads %v, want 4", f.PartLoads)
	} else if got := *f.PartLoads; got[0].Rate != 0 || got[1].Rate != 3 || got[2].Rate != 2 || got[3].Rate != 0 {
		t.Errorf("part loads %+v, want rates 0, 3, 2, 0 (6 and 4 messages in 2 s)", got)
	}
	if n := u.Stats().DescribeGroupsRequests; n != 2 {
		t.Errorf("%d DescribeGroups over two polls 2 s apart with drainGoal, want one each poll", n)
	}
}

// TestGroupReadMaxAge: a member count serves the raw mode's cap for 30 s,
// an empty one (a group scaled to zero) for 2 min.
func TestGroupReadMaxAge(t *testing.T) {
	if got := (groupRead{members: [][]string{{"t"}}}).maxAge(); got != 30*time.Second {
		t.Errorf("with members: %v, want 30s", got)
	}
	if got := (groupRead{}).maxAge(); got != 2*time.Minute {
		t.Errorf("without members: %v, want 2m", got)
	}
}
