package trigger

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// gauge is a fake source whose samples may be unknown, as prometheus mode's
// with ignoreNullValues; it reads the same fake queues as queue.
type gauge struct{ name string }

func (g *gauge) Query() sources.Query { return queueQuery(g.name) }
func (g *gauge) MetricName() string   { return "gauge-" + g.name }
func (g *gauge) Target() float64      { return 5 }
func (g *gauge) Activation() float64  { return 0 }
func (g *gauge) ReportsUnknown() bool { return true }
func (g *gauge) Evaluate(s sources.Sample) sources.Measurement {
	return sources.Measurement{Value: s.Value, Replicas: hpa.FromZero(s.Value, 5)}
}

func gaugeCache(r *reader) *Cache {
	reg, err := NewRegistry(Source{Name: "gauge", Keys: []string{"queue"},
		Parse: func(md metadata.Metadata) (Parsed, error) {
			name, err := md.Required("queue")
			return &gauge{name: name}, err
		}})
	if err != nil {
		panic(err)
	}
	return NewCache(CacheConfig{Registry: reg, Reader: r})
}

// TestFollowerHoldsThroughUnknown: a trigger whose samples may be unknown
// is followed under the default unknownGracePeriod, and the follower passes
// Unknown to the latch: unknown samples nobody asked about neither
// deactivate it before the grace nor let it outlast it.
func TestFollowerHoldsThroughUnknown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newReader()
		c := gaugeCache(r)
		defer c.Close()
		tr, err := c.Get(map[string]string{"source": "gauge", "queue": "jobs"}, t0)
		if err != nil {
			t.Fatal(err)
		}
		if r.watching("jobs") != 1 {
			t.Fatal("a trigger with an unknown grace is not followed")
		}
		r.set("jobs", sources.Sample{Time: t0, Value: 4, Activity: 4})
		synctest.Wait()
		r.set("jobs", sources.Sample{Time: t0.Add(10 * time.Second), Unknown: true})
		synctest.Wait()
		r.set("jobs", sources.Sample{Time: t0.Add(40 * time.Second), Unknown: true})
		synctest.Wait()
		if active, _ := tr.Active(); !active {
			t.Fatal("unknown samples the follower saw deactivated the trigger within the grace")
		}
		got := tr.Evaluate(sources.Sample{Time: t0.Add(69 * time.Second), Unknown: true})
		if !got.Active || got.Value != 0 {
			t.Errorf("59 s into the run: active %v value %v; want active with value 0", got.Active, got.Value)
		}
		r.set("jobs", sources.Sample{Time: t0.Add(70 * time.Second), Unknown: true})
		synctest.Wait()
		if active, _ := tr.Active(); active {
			t.Error("still active once samples were unknown for the grace since the follower saw the first")
		}
		plain, _ := c.Get(map[string]string{"source": "gauge", "queue": "other", "unknownGracePeriod": "0"}, t0)
		if r.watching("other") != 0 || plain == nil {
			t.Error("a trigger with unknownGracePeriod 0 and no other state is followed")
		}
	})
}
