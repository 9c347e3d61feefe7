package forecast

import (
	"encoding/binary"
	"math"
	"testing"
	"time"
)

// FuzzPredict feeds Predict arbitrary histories, clocks, lead times and
// caps: it must not panic, must stay within [0, max] and, when there is a
// usable latest point, must not go below it.
func FuzzPredict(f *testing.F) {
	enc := func(pts ...Point) []byte {
		var b []byte
		for _, p := range pts {
			b = binary.LittleEndian.AppendUint64(b, uint64(p.Time.UnixNano()))
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Demand))
		}
		return b
	}
	f.Add(enc(ramp(4, 1)...), t0.UnixNano(), int64(0), int32(10))
	f.Add(enc(), t0.UnixNano(), int64(time.Minute), int32(1))
	f.Add(enc(Point{t0, math.Inf(1)}, Point{t0.Add(-time.Minute), math.NaN()}), t0.UnixNano(), int64(-1), int32(-3))
	f.Add(enc(series(time.Minute, 0, 0, 1e300, 1e308)...), t0.UnixNano(), int64(math.MaxInt64), int32(math.MaxInt32))
	f.Fuzz(func(t *testing.T, data []byte, nowNanos, leadNanos int64, maxReplicas int32) {
		var pts []Point
		for len(data) >= 16 {
			pts = append(pts, Point{
				Time:   time.Unix(0, int64(binary.LittleEndian.Uint64(data))),
				Demand: math.Float64frombits(binary.LittleEndian.Uint64(data[8:])),
			})
			data = data[16:]
		}
		now := time.Unix(0, nowNanos)
		got, reason := Predict(pts, now, time.Duration(leadNanos), maxReplicas)
		if got < 0 || got > max(maxReplicas, 0) {
			t.Fatalf("Predict = %d (%s), outside [0, %d]", got, reason, maxReplicas)
		}
		if reason == "" {
			t.Fatal("no reason")
		}
		// The latest usable point bounds the result from below.
		var last *Point
		for i := range pts {
			p := &pts[i]
			if p.Time.After(now) || !(p.Demand >= 0) || math.IsInf(p.Demand, 0) {
				continue
			}
			if last == nil || !p.Time.Before(last.Time) {
				last = p
			}
		}
		if last != nil && maxReplicas > 0 {
			if floor := replicas(last.Demand, maxReplicas); got < floor {
				t.Fatalf("Predict = %d (%s), below the latest demand %g (%d)", got, reason, last.Demand, floor)
			}
		}
	})
}
