package explaincmd

import (
	"bytes"
	"context"
	"flag"
	"github.com/tide-scaler/tide/internal/cli"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/tide-scaler/tide/internal/app/kubeapp"
	"github.com/tide-scaler/tide/internal/demo"
	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

// explainOut runs the explain command; with --demo as its first argument,
// against the embedded Kafka with known lag that `tide-demo explain` uses.
func explainOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	var hooks ExplainHooks
	if len(args) > 0 && args[0] == "--demo" {
		args = args[1:]
		hooks.Prepare = func(ctx context.Context, md map[string]string, _ io.Writer) (func(), error) {
			c, err := demo.StartExplainCluster(ctx, md)
			if err != nil {
				return nil, err
			}
			return c.Close, nil
		}
	}
	err := Explain(context.Background(), args, env(nil), &out, &errb, hooks)
	return out.String() + errb.String(), err
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The demo cluster's lag is 282 over 12 partitions (see
// demo.StartExplainCluster).
func TestExplainDemo(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"raw: capped at 12 partitions of 20", nil, []string{
			"demand    282", "value 240 (capped at 12 partitions; rule PartitionCapped), replicas 12",
			"GetMetrics 240, GetMetricSpec target 20 (AverageValue)",
			"1 -> 4 replicas, limiting rule ScaleUpLimited", "maxReplicas 100 is above the 12 partitions"}},
		{"replicas mode sends the count", []string{"-m", "metricMode=replicas", "--replicas", "4", "--max-replicas", "12"}, []string{
			"GetMetrics 12, GetMetricSpec target 1", "4 -> 8 replicas, limiting rule ScaleUpLimited", "scale-up tolerance of 10%"}},
		{"partition cap is the limit", []string{"--replicas", "10", "--max-replicas", "12"}, []string{
			"10 -> 12 replicas, limiting rule PartitionCapped"}},
		// The tolerance trap: 282 over lagThreshold 26 is 11 replicas, and
		// 11/10 is inside the default 10 % band.
		{"tolerance trap", []string{"-m", "metricMode=replicas", "-m", "lagThreshold=26", "--replicas", "10", "--max-replicas", "12"}, []string{
			"GetMetrics 11", "10 -> 10 replicas, limiting rule WithinTolerance", "Set behavior.scaleUp.tolerance: 0"}},
		{"tolerance 0 avoids the trap", []string{"-m", "metricMode=replicas", "-m", "lagThreshold=26", "--replicas", "10", "--max-replicas", "12",
			"-m", "hpaBehavior={scaleUp: {tolerance: 0}}"}, []string{"10 -> 11 replicas, limiting rule Unlimited", "tolerance -10%/+0%"}},
		{"hysteresis keys shown", []string{"-m", "activationLagThreshold=300", "-m", "deactivationThreshold=50", "-m", "minActiveDuration=2m"}, []string{
			"inactive (activity 282, activates above 300, deactivates at or below 50, min active 2m0s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := explainOut(t, append([]string{"--demo"}, tc.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.name != "tolerance trap" && tc.name != "replicas mode sends the count" && strings.Contains(out, "scale-up tolerance of") {
				t.Errorf("unexpected tolerance warning:\n%s", out)
			}
		})
	}
}

// The deploy example is checked as a user would: explain it.
func TestExplainScaledObjectFile(t *testing.T) {
	out, err := explainOut(t, "--demo", "--file", "../../deploy/examples/kafka-replicas-mode.yaml", "--replicas", "10")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, w := range []string{"metricMode replicas", "GetMetrics 11", "10 -> 11 replicas", "max 12", "behavior as given",
		"tolerance -10%/+0%", "min active 2m0s"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "warning") {
		t.Errorf("the example (tolerance 0, max = partitions) got a warning:\n%s", out)
	}

	cpuFirst := writeFile(t, "so.yaml", `
kind: ScaledObject
spec:
  triggers:
  - type: cpu
    metadata: {value: "50"}
  - type: external
    metadata: {source: kafka, lagThreshold: 7}
`)
	out, err = explainOut(t, "--demo", "--file", cpuFirst)
	if err != nil || !strings.Contains(out, "target 7") {
		t.Errorf("the first external trigger was not picked: %v\n%s", err, out)
	}
	if _, err := explainOut(t, "--demo", "--file", cpuFirst, "--trigger", "1"); err == nil || !strings.Contains(err.Error(), "1 trigger(s) Tide can explain") || !strings.Contains(err.Error(), "--file") {
		t.Errorf("--trigger 1 of one external trigger: %v", err)
	}
}

func TestExplainBadInput(t *testing.T) {
	badBehavior := writeFile(t, "b.yaml", "scaleDown:\n  policies: [{type: Percent, value: 10, periodSeconds: 0}]\n")
	window := writeFile(t, "w.yaml", "scaleDown: {stabilizationWindowSeconds: 3601}\n")
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no metadata", nil, []string{"no trigger metadata"}},
		{"bad -m", []string{"-m", "novalue"}, []string{`"novalue"`}},
		{"unknown metricMode", []string{"--demo", "-m", "metricMode=percent"}, []string{`"metricMode"`, `"percent"`}},
		{"deactivation above activation", []string{"--demo", "-m", "activationLagThreshold=5", "-m", "deactivationThreshold=6"},
			[]string{`"deactivationThreshold"`, `"6"`}},
		{"behavior period 0", []string{"--demo", "--behavior-file", badBehavior}, []string{"behavior.scaleDown.policies[0].periodSeconds", "0"}},
		{"behavior window above 3600", []string{"--demo", "--behavior-file", window}, []string{"behavior.scaleDown.stabilizationWindowSeconds", "3601"}},
		{"negative replicas", []string{"--demo", "--replicas", "-3"}, []string{"--replicas -3"}},
		{"min above max", []string{"--demo", "--min-replicas", "5", "--max-replicas", "2"}, []string{"minReplicas 5 is above maxReplicas 2"}},
		{"metric type", []string{"--demo", "--metric-type", "Utilization"}, []string{`"Utilization"`}},
		{"unreachable upstream", []string{"-m", "source=kafka", "-m", "bootstrapServers=127.0.0.1:1", "-m", "consumerGroup=g", "--first-sample-timeout", "2s"},
			[]string{"127.0.0.1:1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := explainOut(t, tc.args...)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// fixedHPA answers every read with one snapshot.
type fixedHPA struct{ s kube.Snapshot }

func (f fixedHPA) Get(context.Context, kube.Ref) (kube.Snapshot, error) { return f.s, nil }

// --scaledobject takes replicas, bounds, behavior and the metric type from
// the live HPA (here a fixed reader; pkg/hpa/kube reads real ones) and
// prints its warnings.
func TestExplainLiveHPA(t *testing.T) {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	var f explainFlags
	f.register(fs)
	if err := fs.Parse([]string{"-m", "metricMode=replicas", "--scaledobject", "team/orders"}); err != nil {
		t.Fatal(err)
	}
	in, err := f.input()
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := demo.StartExplainCluster(t.Context(), in.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	f.hpas = fixedHPA{kube.Snapshot{
		HPAName: "keda-hpa-orders",
		HPA:     hpa.HPA{MinReplicas: 2, MaxReplicas: 30},
		Current: hpa.Current{Spec: 11, Status: 11, Ready: 11},
		Metrics: []kube.Metric{{Name: "s0-kafka-orders-consumer-orders", Kind: autoscalingv2.ExternalMetricSourceType,
			Target: hpa.MetricTarget{Type: hpa.AverageValue, Milli: 1000}}},
	}}
	var out bytes.Buffer
	if err := run(t.Context(), f, in, kubeapp.NewKube(""), slog.New(slog.DiscardHandler), &out); err != nil {
		t.Fatal(err)
	}
	// 282 lag / 20 = 15, capped at 12 partitions; 12/11 is inside the 10 % band.
	for _, w := range []string{"11 -> 11 replicas, limiting rule WithinTolerance", "min 2, max 30",
		"HPA         keda-hpa-orders read from the cluster", "warning     MaxAbovePartitions", "warning     ReplicasModeTolerance"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// TestExplainKubeconfigFromEnvironment: with no --kubeconfig, explain reads
// the first file of $KUBECONFIG, as kubectl does; the flag wins over it.
func TestExplainKubeconfigFromEnvironment(t *testing.T) {
	args := []string{"-m", "source=redis", "-m", "address=127.0.0.1:1", "-m", "listName=q", "--scaledobject", "ns/so"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"$KUBECONFIG", args, map[string]string{"KUBECONFIG": "/nonexistent/from-env:/nonexistent/second"}, "/nonexistent/from-env"},
		{"flag wins", append([]string{"--kubeconfig", "/nonexistent/from-flag"}, args...), map[string]string{"KUBECONFIG": "/nonexistent/from-env"}, "/nonexistent/from-flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Explain(context.Background(), tc.args, env(tc.env), &out, &out, ExplainHooks{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to name %s", err, tc.want)
			}
		})
	}
	if got := cli.Kubeconfig("", env(nil)); got != "" {
		t.Errorf("no flag, no $KUBECONFIG: %q, want in-cluster", got)
	}
}
