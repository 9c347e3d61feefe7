package explain

import (
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// printed is Print's output for a Kafka-like sample of lag 1200 on 12
// partitions, the HPA model proposing 12.
func printed(t *testing.T, current int32, f *sources.Flow) string {
	t.Helper()
	in := NewInput()
	in.Current = current
	e := Explanation{Source: "kafka", Reading: trigger.Reading{Sample: sources.Sample{Value: 1200, Activity: 1200, Capacity: 12, Flow: f}}}
	var b strings.Builder
	Print(&b, in, e, hpa.Decision{Replicas: 12}, hpa.DefaultConfig())
	return b.String()
}

func drainOf(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  drain") {
			return l
		}
	}
	return ""
}

// With the consumers' rate measured, explain predicts the drain at the
// current and at the proposed count: 1200 / (DrainCapacity - 80/s).
func TestPrintDrainTimes(t *testing.T) {
	f := &sources.Flow{Produced: 80, PerConsumer: 20, Consumers: 3}
	tests := []struct {
		name    string
		current int32
		want    string
	}{
		// 6 of 12 drain 120/s: 1200/40 = 30 s; 12 drain 240/s: 1200/160 = 7.5 s.
		{"current known", 6, "6 replicas now: 30s; 12 replicas (HPA model): 8s once at work"},
		// 3 drain 60/s < 80/s.
		{"current unknown: the consumers seen", -1, "3 consumers now: never (they drain 60/s, production 80/s); 12 replicas (HPA model): 8s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := drainOf(printed(t, tt.current, f))
			if !strings.Contains(line, "predicted time to drain 1200 messages at 80/s production") || !strings.Contains(line, tt.want) {
				t.Errorf("drain line %q, want %q", line, tt.want)
			}
		})
	}
}

// Without a measured per-consumer rate there is nothing to predict from.
func TestPrintNoDrainWithoutRates(t *testing.T) {
	for _, f := range []*sources.Flow{nil, {Produced: 80, Consumers: 3}} {
		if line := drainOf(printed(t, 6, f)); line != "" {
			t.Errorf("flow %+v: unexpected %q", f, line)
		}
	}
}

// TestPrintSourceWarnings: what the source says a trigger cannot do is
// printed as a warning line.
func TestPrintSourceWarnings(t *testing.T) {
	in := NewInput()
	e := Explanation{Source: "inference", SourceWarnings: []string{"no wake signal: cannot activate from zero"},
		Reading: trigger.Reading{Sample: sources.Sample{Unknown: true}}}
	var b strings.Builder
	Print(&b, in, e, hpa.Decision{}, hpa.DefaultConfig())
	if !strings.Contains(b.String(), "warning") || !strings.Contains(b.String(), "no wake signal: cannot activate from zero") {
		t.Errorf("explain output lacks the source's warning:\n%s", b.String())
	}
}
