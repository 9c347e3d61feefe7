package lagtime

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzStep folds random observation sequences, decoded from the bytes, into
// an estimate and a Marks, and checks after every step that nothing panics,
// the rates stay finite and non-negative, every interval is either used or
// skipped, Replicas stays within [0, capacity], and the Marks stays
// ordered and within MarksCap however its history is thinned.
//
// Layout: five config bytes (half-life, max gap, stall, commit interval,
// produce half-life, in seconds; 0 is the default), one capacity byte, then
// 8 bytes a reading:
// time step (int8 s; -128 jumps a day), produced and consumed steps (int16;
// a step of -32768 jumps to near the int64 limits), consumers, shape bit,
// lag (0 means produced-consumed, else the byte).
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 12, 2, 0, 100, 0, 60, 3, 0, 0, 2, 0, 100, 0, 60, 3, 0, 0})
	f.Add([]byte{1, 1, 1, 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 255, 0x80, 0, 0x80, 0, 9, 1, 7, 2, 1, 0, 1, 0, 1, 0, 0})
	f.Add([]byte{60, 10, 30, 5, 15, 0, 0x80, 0xff, 0x7f, 0xff, 0x7f, 1, 0, 0, 0x7f, 0, 0x80, 0, 0x80, 2, 1, 255})
	// Enough distinct log ends to fill and thin the Marks: 100 readings a
	// second apart, each producing 3.
	thin := []byte{0, 0, 0, 0, 0, 12}
	for range 100 {
		thin = append(thin, 1, 3, 0, 1, 0, 2, 0, 0)
	}
	f.Add(thin)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 6 {
			return
		}
		sec := func(b byte) time.Duration { return time.Duration(b) * time.Second }
		cfg := Config{HalfLife: sec(data[0]), MaxGap: sec(data[1]), StallAfter: sec(data[2]), CommitInterval: sec(data[3]),
			ProduceHalfLife: sec(data[4])}
		capacity := int(data[5] % 17)
		data = data[6:]

		var (
			e          Estimate
			m          Marks
			o          = Observation{Time: t0}
			steps      int
			prod, cons int64 = 1000, 500
		)
		for ; len(data) >= 8; data = data[8:] {
			switch dt := int8(data[0]); dt {
			case math.MinInt8:
				o.Time = o.Time.Add(24 * time.Hour)
			default:
				o.Time = o.Time.Add(time.Duration(dt) * time.Second)
			}
			prod = advance(prod, int16(binary.LittleEndian.Uint16(data[1:])))
			cons = advance(cons, int16(binary.LittleEndian.Uint16(data[3:])))
			o.Produced, o.Consumed = prod, cons
			o.Consumers = int(data[5] % 8)
			o.Shape ^= uint64(data[6] & 1)
			o.Lag = max(prod-cons, 0)
			if data[7] != 0 {
				o.Lag = int64(data[7])
			}

			e = e.Step(o, cfg)
			steps++
			for name, r := range map[string]float64{"produce": e.ProduceRate, "consume": e.ConsumeRate, "per-consumer": e.PerConsumerRate} {
				if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
					t.Fatalf("step %d: %s rate %v", steps, name, r)
				}
			}
			if e.Intervals+e.Skipped != steps-1 || e.Saturated > e.Intervals || e.Consumers != o.Consumers {
				t.Fatalf("step %d: counts %+v", steps, e)
			}
			for _, target := range []time.Duration{time.Nanosecond, 30 * time.Second} {
				n, ok, reason := Replicas(float64(o.Lag), e, target, capacity)
				if n < 0 || capacity > 0 && n > capacity || !ok && n != 0 || reason == "" {
					t.Fatalf("step %d: Replicas(%d, %+v, %v, %d) = %d, %v, %q", steps, o.Lag, e, target, capacity, n, ok, reason)
				}
			}

			m.Add(o.Time, prod)
			checkMarks(t, &m)
			if age, _ := m.Age(cons, o.Time); age < 0 {
				t.Fatalf("step %d: Age %v", steps, age)
			}
		}
	})
}

// advance moves an offset by step, or to near an int64 limit for the most
// negative step, saturating rather than wrapping.
func advance(v int64, step int16) int64 {
	switch {
	case step == math.MinInt16:
		if v > 0 {
			return math.MinInt64 + 1
		}
		return math.MaxInt64 - 1
	case step > 0 && v > math.MaxInt64-int64(step):
		return math.MaxInt64
	case step < 0 && v < math.MinInt64-int64(step):
		return math.MinInt64
	}
	return v + int64(step)
}
