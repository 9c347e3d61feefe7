package lagtime

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

// q is a reading at sec seconds with the lag the offsets imply.
func q(sec float64, produced, consumed int64, consumers int) Observation {
	return Observation{Time: at(sec), Produced: produced, Consumed: consumed,
		Lag: max(produced-consumed, 0), Consumers: consumers, Shape: 1}
}

// ramp is n readings every `every` seconds after `from` (not included), the
// offsets advancing at produce and consume messages/s.
func ramp(from Observation, every float64, n int, produce, consume float64) []Observation {
	out := make([]Observation, n)
	sec := from.Time.Sub(t0).Seconds()
	for i := range out {
		dt := every * float64(i+1)
		out[i] = q(sec+dt, from.Produced+int64(produce*dt), from.Consumed+int64(consume*dt), from.Consumers)
		out[i].Shape = from.Shape
	}
	return out
}

// seq joins readings and ramps.
func seq(parts ...[]Observation) []Observation {
	var out []Observation
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func one(o Observation) []Observation { return []Observation{o} }

func fold(obs []Observation, cfg Config) Estimate {
	var e Estimate
	for _, o := range obs {
		e = e.Step(o, cfg)
	}
	return e
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// Readings shared by the cases: three consumers 10,000 messages behind,
// producing 100/s and consuming 20/s each (60/s), committing continuously.
var (
	behind    = q(0, 20_000, 10_000, 3)
	saturated = seq(one(behind), ramp(behind, 2, 5, 100, 60))
	afterSat  = saturated[len(saturated)-1]
)

func TestStep(t *testing.T) {
	type want struct {
		produce, consume, per         float64
		intervals, saturated, skipped int
		consumers                     int
	}
	// stalled is afterSat followed by a minute without progress.
	stalled := ramp(afterSat, 2, 30, 100, 0)
	resumed := stalled[len(stalled)-1]
	// changed is afterSat with a fourth consumer at the next poll.
	changed := ramp(afterSat, 2, 1, 100, 80)
	changed[0].Consumers = 4
	reshaped := ramp(afterSat, 2, 1, 100, 60)
	reshaped[0].Shape, reshaped[0].Produced = 2, reshaped[0].Produced+5_000

	tests := []struct {
		name string
		cfg  Config
		obs  []Observation
		want want
	}{{
		name: "first observation: remembered, no rates",
		obs:  one(q(0, 100, 100, 2)),
		want: want{consumers: 2},
	}, {
		name: "steady production initializes then holds the rates; no backlog, no capacity",
		obs:  seq(one(q(0, 0, 0, 2)), ramp(q(0, 0, 0, 2), 2, 10, 100, 100)),
		want: want{produce: 100, consume: 100, intervals: 10, consumers: 2},
	}, {
		name: "idle minute: ConsumeRate halves at a 60s half-life, ProduceRate halves six times at 10s, whatever the spacing",
		obs:  seq(one(q(0, 0, 0, 1)), ramp(q(0, 0, 0, 1), 2, 1, 100, 100), ramp(q(2, 200, 200, 1), 2, 30, 0, 0)),
		want: want{produce: 100.0 / 64, consume: 50, intervals: 31, consumers: 1},
	}, {
		name: "irregular spacing: one 60s interval weighs as thirty 2s ones",
		obs:  seq(one(q(0, 0, 0, 1)), ramp(q(0, 0, 0, 1), 2, 1, 100, 100), one(q(62, 200, 200, 1))),
		want: want{produce: 100.0 / 64, consume: 50, intervals: 2, consumers: 1},
	}, {
		name: "irregular spacing: a 20s interval moves a 60s half-life by 1-2^(-1/3), a 10s one by 3/4",
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 200, 1)), one(q(22, 200, 200, 1))),
		want: want{produce: 25, consume: 100 * math.Pow(2, -1.0/3), intervals: 2, consumers: 1},
	}, {
		name: "idle for one ProduceHalfLife: ProduceRate halves, ConsumeRate decays for a sixth of its half-life",
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 200, 1)), one(q(12, 200, 200, 1))),
		want: want{produce: 50, consume: 100 * math.Pow(2, -10.0/60), intervals: 2, consumers: 1},
	}, {
		name: "production steps up 10x: ProduceRate covers 7/8 of the step in 30s, ConsumeRate keeps to what is consumed",
		obs:  seq(one(q(0, 0, 0, 0)), one(q(2, 20, 20, 0)), ramp(q(2, 20, 20, 0), 2, 15, 100, 10)),
		want: want{produce: 100 - 90.0/8, consume: 10, intervals: 16},
	}, {
		name: "a rise and a fall are followed alike",
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 0, 1)), one(q(12, 200+10*300, 0, 1)), one(q(22, 200+10*300, 0, 1))),
		want: want{produce: (100 + (300-100)/2.0) / 2, intervals: 3, consumers: 1},
	}, {
		name: "half-life from Config: HalfLife governs the consumption rates only",
		cfg:  Config{HalfLife: 20 * time.Second},
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 200, 1)), one(q(22, 200, 200, 1))),
		want: want{produce: 25, consume: 50, intervals: 2, consumers: 1},
	}, {
		name: "ProduceHalfLife from Config",
		cfg:  Config{ProduceHalfLife: 20 * time.Second},
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 200, 1)), one(q(22, 200, 200, 1))),
		want: want{produce: 50, consume: 100 * math.Pow(2, -1.0/3), intervals: 2, consumers: 1},
	}, {
		name: "ProduceHalfLife equal to HalfLife moves both rates alike",
		cfg:  Config{HalfLife: 20 * time.Second, ProduceHalfLife: 20 * time.Second},
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 200, 1)), one(q(22, 200, 200, 1))),
		want: want{produce: 50, consume: 50, intervals: 2, consumers: 1},
	}, {
		name: "saturated intervals measure capacity; the first interval has no rates to judge a backlog by",
		obs:  saturated,
		want: want{produce: 100, consume: 60, per: 20, intervals: 5, saturated: 4, consumers: 3},
	}, {
		name: "lag within commit staleness is not a backlog",
		obs:  seq(one(q(0, 40, 0, 2)), ramp(q(0, 40, 0, 2), 2, 5, 10, 10)),
		want: want{produce: 10, consume: 10, intervals: 5, consumers: 2},
	}, {
		name: "backlog at one end only: no capacity sample",
		obs:  seq(saturated, one(q(12, 21_200, 21_200, 3))),
		want: want{produce: 100, consume: 60 + weight(2*time.Second, DefaultHalfLife)*((21_200-10_600)/2-60), per: 20, intervals: 6, saturated: 4, consumers: 3},
	}, {
		name: "stall with a backlog leaves PerConsumerRate, and so does the interval that resumes",
		obs:  seq(saturated, stalled, one(q(72, resumed.Produced+200, resumed.Consumed+500, 3))),
		want: want{produce: 100, per: 20, intervals: 36, saturated: 4, consumers: 3,
			consume: 60*math.Pow(2, -1) + weight(2*time.Second, DefaultHalfLife)*(250-60*math.Pow(2, -1))},
	}, {
		name: "after a stall the next span is sampled again",
		obs:  seq(saturated, stalled, ramp(resumed, 2, 2, 100, 75)),
		want: want{produce: 100, per: 20 + weight(2*time.Second, DefaultHalfLife)*(25-20), intervals: 37, saturated: 5, consumers: 3,
			consume: 60*math.Pow(2, -1) + weight(4*time.Second, DefaultHalfLife)*(75-60*math.Pow(2, -1))},
	}, {
		name: "consumer count change: rates yes, capacity no",
		obs:  seq(saturated, changed),
		want: want{produce: 100, consume: 60 + weight(2*time.Second, DefaultHalfLife)*(80-60), per: 20, intervals: 6, saturated: 4, consumers: 4},
	}, {
		name: "unknown consumer count: no capacity",
		obs:  seq(one(q(0, 20_000, 10_000, 0)), ramp(q(0, 20_000, 10_000, 0), 2, 5, 100, 60)),
		want: want{produce: 100, consume: 60, intervals: 5},
	}, {
		name: "shape change skips the interval and re-baselines",
		obs:  seq(saturated, reshaped, ramp(reshaped[0], 2, 1, 100, 60)),
		want: want{produce: 100, consume: 60, per: 20, intervals: 6, saturated: 4, skipped: 1, consumers: 3},
	}, {
		name: "produced going backwards (topic re-created) skips",
		obs:  seq(saturated, one(q(12, 0, 0, 3)), ramp(q(12, 0, 0, 3), 2, 1, 100, 100)),
		want: want{produce: 100, consume: 60 + weight(2*time.Second, DefaultHalfLife)*(100-60), per: 20, intervals: 6, saturated: 4, skipped: 1, consumers: 3},
	}, {
		name: "consumed going backwards (offset reset) skips",
		obs:  seq(saturated, one(q(12, afterSat.Produced+200, 0, 3))),
		want: want{produce: 100, consume: 60, per: 20, intervals: 5, saturated: 4, skipped: 1, consumers: 3},
	}, {
		name: "gap longer than MaxGap skips",
		obs:  seq(saturated, one(q(10+301, afterSat.Produced+30_100, afterSat.Consumed, 3))),
		want: want{produce: 100, consume: 60, per: 20, intervals: 5, saturated: 4, skipped: 1, consumers: 3},
	}, {
		name: "gap of exactly MaxGap is used",
		cfg:  Config{MaxGap: 10 * time.Second},
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 200, 1)), one(q(12, 200, 200, 1))),
		want: want{produce: 50, consume: 100 * math.Pow(2, -10.0/60), intervals: 2, consumers: 1},
	}, {
		name: "time not after the last is ignored for rates",
		obs:  seq(one(q(0, 0, 0, 1)), one(q(2, 200, 200, 1)), one(q(2, 900, 900, 1)), one(q(1, 950, 950, 1))),
		want: want{produce: 100, consume: 100, intervals: 1, skipped: 2, consumers: 1},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := fold(tt.obs, tt.cfg)
			got := want{e.ProduceRate, e.ConsumeRate, e.PerConsumerRate, e.Intervals, e.Saturated, e.Skipped, e.Consumers}
			w := tt.want
			if !near(got.produce, w.produce) || !near(got.consume, w.consume) || !near(got.per, w.per) ||
				got.intervals != w.intervals || got.saturated != w.saturated || got.skipped != w.skipped || got.consumers != w.consumers {
				t.Errorf("got  %+v\nwant %+v", got, w)
			}
			if last, ok := e.Last(); !ok || last != tt.obs[len(tt.obs)-1] {
				t.Errorf("Last() = %+v, %v; want the final observation", last, ok)
			}
		})
	}
}

// TestStepCommitSteps replays consumers that commit every 5 s, polled every
// 2 s: an interval sees either no progress or a whole commit. Measured per
// interval, capacity would come out 2.5 times too high.
func TestStepCommitSteps(t *testing.T) {
	const perConsumer, consumers = 20.0, 3
	var e Estimate
	for sec := 0; sec <= 600; sec += 2 {
		committed := int64(sec/5*5) * perConsumer * consumers
		produced := int64(sec)*100 + 10_000
		e = e.Step(q(float64(sec), produced, committed, consumers), Config{})
	}
	if math.Abs(e.PerConsumerRate-perConsumer) > 0.1*perConsumer {
		t.Errorf("PerConsumerRate = %.2f, want %v within 10%%", e.PerConsumerRate, perConsumer)
	}
	if e.Saturated == 0 {
		t.Error("no capacity sample")
	}
}

// TestStepValueSemantics: an estimate stepped twice from the same value
// gives the same answer, and the original is untouched.
func TestStepValueSemantics(t *testing.T) {
	base := fold(saturated, Config{})
	keep := base
	next := q(12, afterSat.Produced+200, afterSat.Consumed+120, 3)
	a := base.Step(next, Config{})
	b := base.Step(next, Config{})
	if base != keep {
		t.Errorf("Step changed its receiver: %+v, was %+v", base, keep)
	}
	if a != b {
		t.Errorf("same step, different results: %+v and %+v", a, b)
	}
	if a == base {
		t.Error("Step returned its receiver unchanged")
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{HalfLife: -time.Second}.withDefaults()
	want := Config{HalfLife: DefaultHalfLife, ProduceHalfLife: DefaultProduceHalfLife, MaxGap: DefaultMaxGap,
		StallAfter: DefaultStallAfter, CommitInterval: DefaultCommitInterval}
	if got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	if got := (Config{HalfLife: 5 * time.Minute}).withDefaults(); got.ProduceHalfLife != DefaultProduceHalfLife {
		t.Errorf("ProduceHalfLife = %v with HalfLife 5m, want the default %v, not HalfLife", got.ProduceHalfLife, DefaultProduceHalfLife)
	}
	set := Config{HalfLife: 1, ProduceHalfLife: 3, MaxGap: 2, StallAfter: 9, CommitInterval: 4}
	if got := set.withDefaults(); got != set {
		t.Errorf("set fields changed: %+v, want %+v", got, set)
	}
	short := Config{StallAfter: 10 * time.Second, CommitInterval: time.Minute}.withDefaults()
	if short.StallAfter != 2*time.Minute {
		t.Errorf("StallAfter = %v with 1m commits, want 2m", short.StallAfter)
	}
}
