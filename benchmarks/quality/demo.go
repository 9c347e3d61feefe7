package quality

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// DemoRun is the Kafka workload's rows of a `go run ./cmd/tide-demo` run
// (internal/demo's live view): per row, the elapsed second, the messages
// produced that second and the replicas after the row's decision.
type DemoRun struct {
	Seconds  []int
	Produced []float64
	Replicas []int
}

// demoRow matches a Kafka row of the live view: time, phase, "orders
// (kafka)", prod/s, cons/s, backlog, metric, replicas ("3" or "3→5").
var demoRow = regexp.MustCompile(`^\s*(\d+)s\s+\S+\s+\S+ \(kafka\)\s+(\d+)\s+\d+\s+\d+\s+\S+\s+(\S+)\s`)

// ParseDemoRun reads the demo's output; rows of other workloads and other
// lines are skipped. A row whose time repeats the previous one's (the
// demo's ticks are real time) replaces nothing: the first is kept.
func ParseDemoRun(r io.Reader) (DemoRun, error) {
	var d DemoRun
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		m := demoRow.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		sec, _ := strconv.Atoi(m[1])
		prod, _ := strconv.ParseFloat(m[2], 64)
		reps := m[3]
		if _, after, ok := strings.Cut(reps, "→"); ok {
			reps = after
		}
		n, err := strconv.Atoi(reps)
		if err != nil {
			return d, fmt.Errorf("demo output line %d: replicas %q: %w", line, m[3], err)
		}
		if k := len(d.Seconds); k > 0 && sec <= d.Seconds[k-1] {
			continue
		}
		d.Seconds, d.Produced, d.Replicas = append(d.Seconds, sec), append(d.Produced, prod), append(d.Replicas, n)
	}
	if err := sc.Err(); err != nil {
		return d, err
	}
	if len(d.Seconds) == 0 {
		return d, fmt.Errorf("demo output: no Kafka rows")
	}
	return d, nil
}

// ReplicaMinutes integrates the replicas the demo ran, a second a row.
func (d DemoRun) ReplicaMinutes() float64 {
	s := 0.0
	for _, n := range d.Replicas {
		s += float64(n)
	}
	return s / 60
}

// Peak is the most replicas the demo ran.
func (d DemoRun) Peak() int {
	p := 0
	for _, n := range d.Replicas {
		p = max(p, n)
	}
	return p
}

// Trace is the run as a trace: the recorded production, second by second,
// on the demo's fleet (cmd/tide-demo: 12 partitions, consumers of 100/s
// that start at once, commit every second and never pause to rebalance)
// and its loop (KEDA's tick and the HPA's sync every second, cooldown 8 s).
func (d DemoRun) Trace() *Trace {
	tr := &Trace{
		Name:            "demo",
		Description:     "production recorded from a run of go run ./cmd/tide-demo (its Kafka workload), on the demo's fleet and loop",
		GoalSeconds:     10,
		DurationSeconds: d.Seconds[len(d.Seconds)-1] + 1,
		Partitions:      12,
		Fleet: FleetSpec{ConsumerRate: 100, RebalanceSeconds: ptr(0.0), CommitIntervalSeconds: 1, ConsumeFirst: true,
			InitialReplicas: 0, MinReplicas: 0, MaxReplicas: 20},
		Scaler: Scaler{LagThreshold: 100},
		Loop:   Loop{PollingIntervalSeconds: 1, CooldownSeconds: 8, HPASyncSeconds: 1},
	}
	for i, s := range d.Seconds {
		if i > 0 && d.Produced[i] == d.Produced[i-1] && s == d.Seconds[i-1]+1 {
			continue
		}
		tr.Rates = append(tr.Rates, RatePoint{At: float64(s), Total: ptr(d.Produced[i])})
	}
	return tr
}

// DemoPolicy is what the demo runs: Tide's kafka trigger in raw mode,
// polled every second (the demo polls every 500 ms; the harness's clock
// ticks in seconds), with the demo's behavior (cmd/tide-demo
// demoBehavior: scale-up window 0, 4 pods or 100% a second; scale-down
// window 10 s, 50% per 2 s).
func DemoPolicy() Policy {
	return Policy{Name: "tide-raw (demo)", Tide: true, Push: true, PollEvery: 1, build: tide(nil),
		Behavior: &hpa.Behavior{
			ScaleUp: &hpa.Rules{StabilizationWindowSeconds: ptr(int32(0)), SelectPolicy: hpa.SelectMax, Policies: []hpa.Policy{
				{Type: hpa.PodsPolicy, Value: 4, PeriodSeconds: 1}, {Type: hpa.PercentPolicy, Value: 100, PeriodSeconds: 1}}},
			ScaleDown: &hpa.Rules{StabilizationWindowSeconds: ptr(int32(10)), SelectPolicy: hpa.SelectMax, Policies: []hpa.Policy{
				{Type: hpa.PercentPolicy, Value: 50, PeriodSeconds: 2}}},
		},
		Description: "the demo's own configuration: Tide raw mode, the demo's HPA behavior"}
}

// TraceJSON is Trace as a committed trace file holds it.
func (d DemoRun) TraceJSON() ([]byte, error) {
	b, err := json.MarshalIndent(d.Trace(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
