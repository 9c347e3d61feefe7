package quality

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/kafka"
)

// view is what a scaler can read at one moment: per partition the log end
// and the committed offset, how many group members hold partitions (0
// during a rebalance, when DescribeGroups shows empty assignments), and the
// Deployment's replica count (what the HPA compares against).
type view struct {
	logEnd, committed []int64
	consumers         int
	replicas          int
}

// scaler turns views into what the HPA and KEDA's executor see.
type scaler interface {
	// poll is a scheduled poll of the scaler's own (Tide: every 2 s).
	poll(now int, v view)
	// metric is the External metric at an HPA sync.
	metric(now int, v view) hpa.MetricInput
	// active is the trigger's activity at a KEDA polling tick.
	active(now int, v view) bool
}

// Policy is one way of scaling: a scaler and the HPA behavior that comes
// with it.
type Policy struct {
	Name        string
	Description string
	// Tide marks Tide's policies, KEDA is the baseline of the goals.
	Tide, Baseline bool
	Behavior       *hpa.Behavior
	// Push activates from zero at the scaler's own poll (external-push's
	// StreamIsActive) rather than at KEDA's next polling tick.
	Push bool
	// PollEvery is the scaler's poll interval in seconds (0: none).
	PollEvery int
	build     func(tr *Trace) (scaler, error)
}

// tidePoll is Tide's default --poll-interval, in seconds.
const tidePoll = 2

func ptr[T any](v T) *T { return &v }

// TunedBehavior scales up in one step (any size within 15 s, no window, no
// tolerance: every step costs a rebalance, so take it whole) and down after
// KEDA's default 5-minute window, to what the window allows in one step.
func TunedBehavior() *hpa.Behavior {
	return &hpa.Behavior{
		ScaleUp: &hpa.Rules{
			StabilizationWindowSeconds: ptr(int32(0)),
			Policies:                   []hpa.Policy{{Type: hpa.PercentPolicy, Value: 10000, PeriodSeconds: 15}},
			Tolerance:                  ptr(0.0),
		},
		ScaleDown: &hpa.Rules{
			StabilizationWindowSeconds: ptr(int32(300)),
			Policies:                   []hpa.Policy{{Type: hpa.PercentPolicy, Value: 100, PeriodSeconds: 15}},
			Tolerance:                  ptr(0.0),
		},
	}
}

// Policies returns every policy the harness compares, KEDA's first.
func Policies() []Policy {
	keda := func(tr *Trace) (scaler, error) {
		th := tr.Scaler.LagThreshold
		if th != math.Trunc(th) {
			return nil, fmt.Errorf("scaler.lagThreshold %v: KEDA's kafka scaler takes an integer", th)
		}
		return kedaKafka{threshold: int64(th), activation: int64(tr.Scaler.ActivationLagThreshold)}, nil
	}
	return []Policy{
		{Name: "keda", Baseline: true, build: keda,
			Description: "KEDA v2.21 kafka scaler (lagThreshold), HPA without behavior (KEDA's default)"},
		{Name: "keda-tuned", build: keda, Behavior: TunedBehavior(),
			Description: "KEDA v2.21 kafka scaler, HPA with the tuned behavior"},
		{Name: "tide-raw", Tide: true, Push: true, PollEvery: tidePoll, build: tide(nil),
			Description: "Tide kafka trigger, metricMode raw (lagThreshold), HPA without behavior"},
		{Name: "tide-lagTarget", Tide: true, Push: true, PollEvery: tidePoll,
			Behavior:    &hpa.Behavior{ScaleUp: &hpa.Rules{Tolerance: ptr(0.0)}},
			build:       tide(func(tr *Trace) map[string]string { return map[string]string{"lagTarget": seconds(tr.GoalSeconds)} }),
			Description: "Tide metricMode replicas, lagTarget = goal, HPA behavior scaleUp tolerance 0 (as documented)"},
		{Name: "tide-drain", Tide: true, Push: true, PollEvery: tidePoll, Behavior: TunedBehavior(),
			build:       tide(drain),
			Description: "Tide metricMode replicas, drainGoal = goal (the drain-time law), tuned behavior"},
		{Name: "tide-drain-60s", Tide: true, Push: true, PollEvery: tidePoll, Behavior: tunedDown(60),
			build:       tide(drain),
			Description: "as tide-drain, with a 60 s scale-down window: for bursts that do not recur within minutes"},
	}
}

// tunedDown is TunedBehavior with a scale-down window of window seconds.
func tunedDown(window int32) *hpa.Behavior {
	b := TunedBehavior()
	b.ScaleDown.StabilizationWindowSeconds = ptr(window)
	return b
}

func seconds(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) + "s" }

// tideScaler is Tide's kafka trigger fed by a simulated poll: the real
// kafka.Trigger (Parse, Evaluate) on a sources.Sample built as the Kafka
// source builds it, with the real lagtime.Estimate and lagtime.Marks.
type tideScaler struct {
	trig       *kafka.Trigger
	replicas   bool // metricMode replicas
	partitions int
	est        lagtime.Estimate
	marks      []lagtime.Marks
	sample     sources.Sample
	t0         time.Time
	members    lagtime.HeldMembers
	stalls     lagtime.Stalls
	recent     lagtime.Recent
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func tide(extra func(*Trace) map[string]string) func(tr *Trace) (scaler, error) {
	return func(tr *Trace) (scaler, error) {
		md := metadata.Metadata{
			"bootstrapServers": "sim:9092", "consumerGroup": "sim", "topic": "sim",
			"lagThreshold":           strconv.FormatFloat(tr.Scaler.LagThreshold, 'f', -1, 64),
			"activationLagThreshold": strconv.FormatFloat(tr.Scaler.ActivationLagThreshold, 'f', -1, 64),
		}
		replicas := extra != nil
		if replicas {
			for k, v := range extra(tr) {
				md[k] = v
			}
		}
		trig, err := kafka.Parse(md, sources.Policy{})
		if err != nil {
			return nil, err
		}
		return &tideScaler{trig: trig, replicas: replicas, partitions: tr.Partitions,
			marks: make([]lagtime.Marks, tr.Partitions), t0: epoch}, nil
	}
}

// drain is Tide's kafka trigger with drainGoal = the trace's goal and the
// fleet keys from the trace's fleet: the shipped law (kafka.Trigger's
// Evaluate, lagtime.DrainReplicas), sizing from the group's members as the
// source reads them (rebalances bridged by lagtime.HeldMembers).
func drain(tr *Trace) map[string]string {
	return map[string]string{
		"drainGoal":           seconds(tr.GoalSeconds),
		"drainPodStart":       seconds(tr.Fleet.PodStartSeconds),
		"drainRebalancePause": seconds(tr.Rebalance()),
	}
}

// poll reads the offsets as the Kafka source does and folds them into the
// estimate and the marks (pkg/sources/kafka flow.go).
func (t *tideScaler) poll(now int, v view) {
	at := t.t0.Add(time.Duration(now) * time.Second)
	obs := lagtime.Observation{Time: at, Consumers: v.consumers, Shape: 1}
	flow := &sources.Flow{LagSecondsExact: true, Consumers: v.consumers}
	loads := make([]lagtime.PartLoad, len(v.logEnd))
	flow.PartLoads = &loads
	for p := range v.logEnd {
		le, c := v.logEnd[p], v.committed[p]
		obs.Produced += le
		obs.Consumed += c
		obs.Lag += max(le-c, 0)
		t.marks[p].Add(at, le)
		loads[p].Lag = float64(max(le-c, 0))
		loads[p].Rate, _ = t.marks[p].Rate(at, lagtime.SpreadWindow)
		if t.stalls.Observe(strconv.Itoa(p), at, c, le-c, lagtime.StallProbe) {
			obs.Stalled = true
		}
		if le > c {
			age, exact := t.marks[p].Age(c, at)
			if s := age.Seconds(); s > flow.LagSeconds || (s == flow.LagSeconds && !exact) {
				flow.LagSeconds, flow.LagSecondsExact = s, exact
			}
		}
	}
	prev, seen := t.est.Last()
	t.est = t.est.Step(obs, lagtime.Config{})
	t.members, flow.Members = t.members.Observe(at, v.consumers)
	t.recent = t.recent.Add(at, obs.Produced, false)
	recent := t.recent
	flow.Recent = &recent
	if seen {
		flow.LatestProduced, flow.LatestKnown = lagtime.LatestProduceRate(prev, obs)
	}
	flow.Produced, flow.Consumed, flow.PerConsumer = t.est.ProduceRate, t.est.ConsumeRate, t.est.PerConsumerRate
	lag := float64(obs.Lag)
	t.sample = sources.Sample{Time: at, Value: lag, Activity: lag, Capacity: t.partitions, Flow: flow}
}

// metric is what Tide's gRPC face sends: the trigger's value with target
// lagThreshold in raw mode, its replica count with target 1 in replicas
// mode (pkg/strategy Options.Value, Target).
func (t *tideScaler) metric(int, view) hpa.MetricInput {
	m := t.trig.Evaluate(t.sample)
	if t.replicas {
		return hpa.MetricInput{
			Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: 1000},
			Values: []int64{hpa.Milli(float64(m.Replicas))},
		}
	}
	return hpa.MetricInput{
		Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: hpa.Milli(t.trig.Target())},
		Values: []int64{hpa.Milli(m.Value)},
	}
}

// active is the activation latch with its defaults: activity above
// activationLagThreshold.
func (t *tideScaler) active(int, view) bool { return t.sample.Activity > t.trig.Activation() }
