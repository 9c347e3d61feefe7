package quality

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// Trace is one scenario: the traffic, the consumer fleet, the scaler's
// settings and the latency goal. It is read from a JSON file (Parse); the
// format is documented in README.md.
type Trace struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// GoalSeconds is the latency goal: the oldest unprocessed message of
	// every partition no older than this.
	GoalSeconds float64 `json:"goalSeconds"`
	// DurationSeconds is how long the replay runs.
	DurationSeconds int `json:"durationSeconds"`
	Partitions      int `json:"partitions"`
	// Bursts is how many bursts the trace holds, for rebalances per burst
	// (default 1).
	Bursts int `json:"bursts,omitempty"`
	// Interpolation between rate points: "step" (hold, the default) or
	// "linear".
	Interpolation string `json:"interpolation,omitempty"`
	// Rates is the arrival rate over time, points in increasing At.
	Rates []RatePoint `json:"rates"`
	// Weights spreads a point's Total over the partitions (default even);
	// one per partition, not all zero.
	Weights   []float64  `json:"weights,omitempty"`
	Fleet     FleetSpec  `json:"fleet"`
	Scaler    Scaler     `json:"scaler"`
	Slowdowns []Slowdown `json:"slowdowns,omitempty"`
	Stalls    []Stall    `json:"stalls,omitempty"`
	// Loop overrides KEDA's and the HPA's periods (default: KEDA's and the
	// controller's defaults).
	Loop Loop `json:"loop,omitzero"`

	// shift is the lead-in of a Shifted trace: the run measures from it.
	shift int
}

// Loop is the control loop's periods, in whole seconds; 0 takes the
// default.
type Loop struct {
	// PollingIntervalSeconds is the ScaledObject's pollingInterval (30).
	PollingIntervalSeconds int `json:"pollingIntervalSeconds,omitempty"`
	// CooldownSeconds is the ScaledObject's cooldownPeriod (300).
	CooldownSeconds int `json:"cooldownSeconds,omitempty"`
	// HPASyncSeconds is the controller's sync period (15).
	HPASyncSeconds int `json:"hpaSyncSeconds,omitempty"`
}

// RatePoint is the arrival rate from At (seconds) on: Total messages/s
// spread by the trace's Weights, or PerPartition messages/s each.
type RatePoint struct {
	At           float64   `json:"at"`
	Total        *float64  `json:"total,omitempty"`
	PerPartition []float64 `json:"perPartition,omitempty"`
}

// FleetSpec is the consumer group's deployment.
type FleetSpec struct {
	// ConsumerRate is what one consumer processes, messages/s, while it has
	// a backlog.
	ConsumerRate float64 `json:"consumerRate"`
	// ConsumerRateSpread is the relative standard deviation of a pod's
	// rate around ConsumerRate (each pod draws its own, seeded).
	ConsumerRateSpread float64 `json:"consumerRateSpread,omitempty"`
	PodStartSeconds    float64 `json:"podStartSeconds,omitempty"`
	// RebalanceSeconds is the stop-the-world pause of every membership
	// change (default 10).
	RebalanceSeconds      *float64 `json:"rebalanceSeconds,omitempty"`
	CommitIntervalSeconds float64  `json:"commitIntervalSeconds"`
	// ConsumeFirst makes each second's consumption come before that
	// second's arrivals, as the demo's fleet steps (its consumers work a
	// tick, then the producer produces), so a broker read between ticks
	// sees the last tick's production as lag; the default consumes each
	// second's arrivals within it.
	ConsumeFirst    bool `json:"consumeFirst,omitempty"`
	InitialReplicas int  `json:"initialReplicas,omitempty"`
	// MinReplicas is the ScaledObject's minReplicaCount (0 scales to zero).
	MinReplicas int   `json:"minReplicas,omitempty"`
	MaxReplicas int   `json:"maxReplicas"`
	Seed        int64 `json:"seed,omitempty"`
}

// Scaler holds the trigger settings every policy shares.
type Scaler struct {
	LagThreshold           float64 `json:"lagThreshold"`
	ActivationLagThreshold float64 `json:"activationLagThreshold,omitempty"`
}

// Slowdown multiplies every consumer's rate by Factor in [From, To).
type Slowdown struct {
	From   float64 `json:"fromSeconds"`
	To     float64 `json:"toSeconds"`
	Factor float64 `json:"factor"`
}

// Stall blocks the consumer that holds Partition in [From, To): a poison
// message or a hung call stops its whole poll loop, so none of its
// partitions progress.
type Stall struct {
	Partition int     `json:"partition"`
	From      float64 `json:"fromSeconds"`
	To        float64 `json:"toSeconds"`
}

// DefaultRebalanceSeconds is Fleet.RebalanceSeconds' default.
const DefaultRebalanceSeconds = 10

// maxDuration bounds a replay: a day of seconds.
const maxDuration = 86400

// ReadTrace reads and validates a trace file.
func ReadTrace(path string) (*Trace, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tr, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return tr, nil
}

// Parse decodes a trace strictly (unknown fields are errors) and validates
// it; every error names the field and the bad value.
func Parse(b []byte) (*Trace, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var tr Trace
	if err := dec.Decode(&tr); err != nil {
		return nil, fmt.Errorf("decoding trace: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("decoding trace: data after the JSON object")
	}
	if err := tr.validate(); err != nil {
		return nil, err
	}
	return &tr, nil
}

func bad(field string, v any, why string) error {
	return fmt.Errorf("trace field %s: %v %s", field, v, why)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func (tr *Trace) validate() error {
	f := &tr.Fleet
	switch {
	case strings.TrimSpace(tr.Name) == "":
		return bad("name", fmt.Sprintf("%q", tr.Name), "is empty")
	case !(tr.GoalSeconds > 0) || !finite(tr.GoalSeconds):
		return bad("goalSeconds", tr.GoalSeconds, "must be positive")
	case tr.DurationSeconds <= 0 || tr.DurationSeconds > maxDuration:
		return bad("durationSeconds", tr.DurationSeconds, fmt.Sprintf("must be in 1..%d", maxDuration))
	case tr.Partitions <= 0 || tr.Partitions > 10000:
		return bad("partitions", tr.Partitions, "must be in 1..10000")
	case tr.Bursts < 0:
		return bad("bursts", tr.Bursts, "must not be negative")
	case tr.Interpolation != "" && tr.Interpolation != "step" && tr.Interpolation != "linear":
		return bad("interpolation", fmt.Sprintf("%q", tr.Interpolation), `must be "step" or "linear"`)
	case tr.Weights != nil && len(tr.Weights) != tr.Partitions:
		return bad("weights", len(tr.Weights), fmt.Sprintf("entries given, want one per partition (%d)", tr.Partitions))
	case !(f.ConsumerRate > 0) || !finite(f.ConsumerRate):
		return bad("fleet.consumerRate", f.ConsumerRate, "must be positive")
	case !(f.ConsumerRateSpread >= 0 && f.ConsumerRateSpread <= 0.5):
		return bad("fleet.consumerRateSpread", f.ConsumerRateSpread, "must be in [0, 0.5]")
	case !(f.PodStartSeconds >= 0 && f.PodStartSeconds <= 3600):
		return bad("fleet.podStartSeconds", f.PodStartSeconds, "must be in [0, 3600]")
	case f.RebalanceSeconds != nil && !(*f.RebalanceSeconds >= 0 && *f.RebalanceSeconds <= 600):
		return bad("fleet.rebalanceSeconds", *f.RebalanceSeconds, "must be in [0, 600]")
	case !(f.CommitIntervalSeconds >= 1 && f.CommitIntervalSeconds <= 600) || f.CommitIntervalSeconds != math.Trunc(f.CommitIntervalSeconds):
		return bad("fleet.commitIntervalSeconds", f.CommitIntervalSeconds, "must be whole seconds in 1..600")
	case f.MinReplicas < 0:
		return bad("fleet.minReplicas", f.MinReplicas, "must not be negative")
	case f.MaxReplicas < max(f.MinReplicas, 1) || f.MaxReplicas > 1000:
		return bad("fleet.maxReplicas", f.MaxReplicas, fmt.Sprintf("must be in %d..1000 (at least minReplicas and 1)", max(f.MinReplicas, 1)))
	case f.InitialReplicas < f.MinReplicas || f.InitialReplicas > f.MaxReplicas:
		return bad("fleet.initialReplicas", f.InitialReplicas, "must be within minReplicas..maxReplicas")
	case !(tr.Scaler.LagThreshold > 0) || !finite(tr.Scaler.LagThreshold):
		return bad("scaler.lagThreshold", tr.Scaler.LagThreshold, "must be positive")
	case !(tr.Scaler.ActivationLagThreshold >= 0) || !finite(tr.Scaler.ActivationLagThreshold):
		return bad("scaler.activationLagThreshold", tr.Scaler.ActivationLagThreshold, "must not be negative")
	}
	for _, l := range []struct {
		field string
		v     int
	}{{"loop.pollingIntervalSeconds", tr.Loop.PollingIntervalSeconds}, {"loop.cooldownSeconds", tr.Loop.CooldownSeconds}, {"loop.hpaSyncSeconds", tr.Loop.HPASyncSeconds}} {
		if l.v < 0 || l.v > 3600 {
			return bad(l.field, l.v, "must be in 0..3600 (0: the default)")
		}
	}
	if err := tr.validateWeights(); err != nil {
		return err
	}
	if err := tr.validateRates(); err != nil {
		return err
	}
	return tr.validateEvents()
}

func (tr *Trace) validateWeights() error {
	sum := 0.0
	for i, w := range tr.Weights {
		if !(w >= 0) || !finite(w) {
			return bad(fmt.Sprintf("weights[%d]", i), w, "must be a non-negative number")
		}
		sum += w
	}
	if tr.Weights != nil && sum == 0 {
		return bad("weights", "all zero", "leave no partition any traffic")
	}
	return nil
}

func (tr *Trace) validateRates() error {
	if len(tr.Rates) == 0 {
		return bad("rates", "[]", "is empty: give at least one point")
	}
	for i, p := range tr.Rates {
		field := fmt.Sprintf("rates[%d]", i)
		switch {
		case !(p.At >= 0) || !finite(p.At):
			return bad(field+".at", p.At, "must not be negative")
		case i > 0 && p.At <= tr.Rates[i-1].At:
			return bad(field+".at", p.At, fmt.Sprintf("must be after the previous point's %v", tr.Rates[i-1].At))
		case (p.Total == nil) == (p.PerPartition == nil):
			return bad(field, "", "needs exactly one of total and perPartition")
		case p.Total != nil && (!(*p.Total >= 0) || !finite(*p.Total)):
			return bad(field+".total", *p.Total, "must be a non-negative rate")
		case p.PerPartition != nil && len(p.PerPartition) != tr.Partitions:
			return bad(field+".perPartition", len(p.PerPartition), fmt.Sprintf("entries given, want %d", tr.Partitions))
		}
		for j, r := range p.PerPartition {
			if !(r >= 0) || !finite(r) {
				return bad(fmt.Sprintf("%s.perPartition[%d]", field, j), r, "must be a non-negative rate")
			}
		}
	}
	return nil
}

func (tr *Trace) validateEvents() error {
	for i, s := range tr.Slowdowns {
		field := fmt.Sprintf("slowdowns[%d]", i)
		switch {
		case !(s.From >= 0) || !(s.To > s.From) || !finite(s.To):
			return bad(field+".toSeconds", s.To, fmt.Sprintf("must be after fromSeconds (%v >= 0)", s.From))
		case !(s.Factor >= 0 && s.Factor <= 10):
			return bad(field+".factor", s.Factor, "must be in [0, 10]")
		}
	}
	for i, s := range tr.Stalls {
		field := fmt.Sprintf("stalls[%d]", i)
		switch {
		case s.Partition < 0 || s.Partition >= tr.Partitions:
			return bad(field+".partition", s.Partition, fmt.Sprintf("must be in 0..%d", tr.Partitions-1))
		case !(s.From >= 0) || !(s.To > s.From) || !finite(s.To):
			return bad(field+".toSeconds", s.To, fmt.Sprintf("must be after fromSeconds (%v >= 0)", s.From))
		}
	}
	return nil
}

// periods returns the loop's periods with defaults filled.
func (tr *Trace) periods() (polling, cooldown, sync int) {
	polling, cooldown, sync = kedaPollingInterval, kedaCooldown, 15
	if tr.Loop.PollingIntervalSeconds > 0 {
		polling = tr.Loop.PollingIntervalSeconds
	}
	if tr.Loop.CooldownSeconds > 0 {
		cooldown = tr.Loop.CooldownSeconds
	}
	if tr.Loop.HPASyncSeconds > 0 {
		sync = tr.Loop.HPASyncSeconds
	}
	return polling, cooldown, sync
}

// Goal is the latency goal in seconds.
func (tr *Trace) Goal() float64 { return tr.GoalSeconds }

// Rebalance is the rebalance pause in seconds.
func (tr *Trace) Rebalance() float64 {
	if tr.Fleet.RebalanceSeconds == nil {
		return DefaultRebalanceSeconds
	}
	return *tr.Fleet.RebalanceSeconds
}

// RateAt returns the arrival rate of partition p at t seconds.
func (tr *Trace) RateAt(p int, t float64) float64 {
	i := sort.Search(len(tr.Rates), func(i int) bool { return tr.Rates[i].At > t }) - 1
	if i < 0 {
		return 0
	}
	r := tr.partRate(i, p)
	if tr.Interpolation == "linear" && i+1 < len(tr.Rates) {
		a, b := tr.Rates[i].At, tr.Rates[i+1].At
		r += (tr.partRate(i+1, p) - r) * (t - a) / (b - a)
	}
	return r
}

func (tr *Trace) partRate(i, p int) float64 {
	pt := tr.Rates[i]
	if pt.PerPartition != nil {
		return pt.PerPartition[p]
	}
	if tr.Weights == nil {
		return *pt.Total / float64(tr.Partitions)
	}
	sum := 0.0
	for _, w := range tr.Weights {
		sum += w
	}
	return *pt.Total * tr.Weights[p] / sum
}

// slowdown is the factor on every consumer's rate at t.
func (tr *Trace) slowdown(t float64) float64 {
	f := 1.0
	for _, s := range tr.Slowdowns {
		if t >= s.From && t < s.To {
			f *= s.Factor
		}
	}
	return f
}

// stalled reports whether partition p is stalled at t.
func (tr *Trace) stalled(p int, t float64) bool {
	for _, s := range tr.Stalls {
		if s.Partition == p && t >= s.From && t < s.To {
			return true
		}
	}
	return false
}
