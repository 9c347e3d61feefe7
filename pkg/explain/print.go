package explain

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/strategy"
)

// maxParts bounds the per-part lines: a 1,000-partition topic would bury
// the answer.
const maxParts = 16

// Print writes the explanation, the HPA model's decision d for in and the
// warnings, one labelled line each.
func Print(w io.Writer, in Input, e Explanation, d hpa.Decision, cfg hpa.Config) {
	s, m := e.Reading.Sample, e.Reading.Measurement
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-12s%s\n", label, fmt.Sprintf(format, args...))
	}
	line("trigger", "%s, metric %s (metricMode %s)", e.Source, e.MetricName, e.Options.Mode)
	line("upstream", "%s", e.Upstream)
	line("sample", "at %s", s.Time.UTC().Format(time.RFC3339Nano))
	capacity := "no partition cap"
	if s.Capacity > 0 {
		capacity = fmt.Sprintf("capacity %d", s.Capacity)
	}
	line("  demand", "%s (towards activation: %s), %s", num(s.Value), num(s.Activity), capacity)
	if s.Excluded > 0 {
		line("  excluded", "%d part(s) stuck: not counted towards scale-out", s.Excluded)
	}
	for i, p := range s.Parts {
		if i == maxParts {
			line("", "... and %d more", len(s.Parts)-maxParts)
			break
		}
		label := ""
		if i == 0 {
			label = "  parts"
		}
		info := ""
		if p.Info != "" {
			info = " (" + p.Info + ")"
		}
		line(label, "%s %s%s", p.Name, num(p.Value), info)
	}
	if f := s.Flow; f != nil {
		exact := ""
		if !f.LagSecondsExact {
			exact = " or more"
		}
		per := "per-consumer rate not observed yet (needs a backlog)"
		if f.PerConsumer > 0 {
			per = fmt.Sprintf("%s/s per consumer", num(f.PerConsumer))
		}
		line("  flow", "lag %ss%s; produced %s/s, consumed %s/s; %s; %d consumer(s)",
			num(f.LagSeconds), exact, num(f.Produced), num(f.Consumed), per, f.Consumers)
		if f.PerConsumer > 0 {
			line("  drain", "%s", drainLine(s.Value, *f, s.Capacity, in.Current, d.Replicas))
		}
	}
	for _, n := range s.Notes {
		line("  note", "%s", n)
	}
	rule := ""
	if m.Rule != "" {
		rule = "; rule " + m.Rule
	}
	reason := ""
	if m.Reason != "" {
		reason = " (" + m.Reason + rule + ")"
	}
	line("source", "value %s%s, replicas %d", num(m.Value), reason, m.Replicas)
	a := e.Options.Activation
	state := "inactive"
	if e.Reading.Active {
		state = "active"
	}
	line("activation", "%s (activity %s, activates above %s, deactivates at or below %s, min active %s)",
		state, num(s.Activity), num(a.On), num(a.Off), a.MinActive)
	line("sent", "GetMetrics %s, GetMetricSpec target %s (%s)", num(e.Reading.Value), num(e.Target), in.Target)

	tol := d.Tolerances
	rules := "legacy rules (no behavior)"
	if in.HPA.Behavior != nil {
		rules = "behavior as given, API defaults for the rest"
	}
	line("HPA model", "%d -> %d replicas, limiting rule %s", in.Current, d.Replicas, strategy.LimitingRule(d, m.Rule, m.Replicas))
	ratio := ""
	if len(d.Proposals) == 1 {
		ratio = fmt.Sprintf(" (ratio %s)", num(d.Proposals[0].Ratio))
	}
	line("", "desired %d%s, tolerance -%s/+%s, stabilized %d, min %d, max %d, %s",
		d.Desired, ratio, pct(tol.ScaleDown), pct(tol.ScaleUp), d.Stabilized, in.HPA.MinReplicas, in.HPA.MaxReplicas, rules)
	for _, warn := range Warnings(in, e, cfg) {
		line("warning", "%s", warn)
	}
}

// Warnings are the configurations that cannot work as meant.
func Warnings(in Input, e Explanation, cfg hpa.Config) []string {
	out := append([]string(nil), e.SourceWarnings...)
	tol := in.HPA.Tolerances(cfg)
	if e.Options.Mode == strategy.Replicas && tol.ScaleUp != 0 {
		out = append(out, fmt.Sprintf("metricMode replicas with a scale-up tolerance of %s: the HPA ignores a change from N to N+1 while (N+1)/N <= %s (10 -> 11 at the default 10%%). "+
			"Set behavior.scaleUp.tolerance: 0 in the ScaledObject's advanced.horizontalPodAutoscalerConfig (Kubernetes >= 1.33; the gate is on by default from 1.35).",
			pct(tol.ScaleUp), num(1+tol.ScaleUp)))
	}
	if e.Options.Mode == strategy.Replicas && in.Target != hpa.AverageValue {
		out = append(out, "metricMode replicas needs metricType AverageValue: with Value the HPA multiplies the current replicas by the ratio")
	}
	if c := e.Reading.Sample.Capacity; c > 0 && int(in.HPA.MaxReplicas) > c {
		out = append(out, fmt.Sprintf("maxReplicas %d is above the %d partitions: consumers beyond %d get no partition and idle", in.HPA.MaxReplicas, c, c))
	}
	return out
}

// drainLine predicts, from the measured rates, how long the lag takes to
// drain at the current replica count (the consumers seen when it is not
// known) and at the HPA model's, once those consumers are at work.
func drainLine(lag float64, f sources.Flow, partitions int, current, proposed int32) string {
	at := func(n int, label string) string {
		d, ok := lagtime.DrainTime(lag, f.Produced, f.PerConsumer, n, partitions)
		switch {
		case !ok:
			return fmt.Sprintf("%d %s: never (they drain %s/s, production %s/s)",
				n, label, num(lagtime.DrainCapacity(n, partitions, f.PerConsumer)), num(f.Produced))
		case d == 0:
			return fmt.Sprintf("%d %s: nothing to drain", n, label)
		}
		return fmt.Sprintf("%d %s: %s", n, label, d.Round(time.Second))
	}
	cur, label := int(current), "replicas now"
	if current < 0 {
		cur, label = f.Consumers, "consumers now"
	}
	return fmt.Sprintf("predicted time to drain %s messages at %s/s production: %s; %s once at work",
		num(lag), num(f.Produced), at(cur, label), at(int(proposed), "replicas (HPA model)"))
}

func num(v float64) string {
	s := fmt.Sprintf("%.3f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		s = "0"
	}
	return s
}

func pct(f float64) string { return num(f*100) + "%" }

// PrintClusterWarnings writes what HPA awareness would warn about for the
// live HPA s; poll is the scaler's poll interval.
func PrintClusterWarnings(w io.Writer, s kube.Snapshot, e Explanation, poll time.Duration) {
	fmt.Fprintf(w, "%-12s%s read from the cluster at %s\n", "HPA", s.HPAName, s.Read.UTC().Format(time.RFC3339))
	name := ""
	for _, m := range s.Metrics {
		if kube.StripIndex(m.Name) == e.MetricName {
			name = m.Name
		}
	}
	f := kube.Facts{ReplicasMode: e.Options.Mode == strategy.Replicas, Partitions: e.Reading.Sample.Capacity, PollInterval: poll, MetricName: name}
	for _, warn := range kube.Check(s, f) {
		fmt.Fprintf(w, "%-12s%s: %s\n", "warning", warn.Code, warn.Message)
	}
}
