package quality

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
)

func readDemoRun(t *testing.T) DemoRun {
	t.Helper()
	f, err := os.Open("testdata/demo-run.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := ParseDemoRun(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// traces/demo.json is the production of the recorded demo run
// (testdata/demo-run.txt), converted by TraceJSON.
func TestDemoTraceIsTheRecordedRun(t *testing.T) {
	want, err := readDemoRun(t).TraceJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("traces/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("traces/demo.json is not testdata/demo-run.txt converted; regenerate it:\n" +
			"cd benchmarks && go run ./quality/cmd -demo-run quality/testdata/demo-run.txt > quality/traces/demo.json")
	}
}

func TestParseDemoRun(t *testing.T) {
	out := "  time  phase ...\n" +
		"    0s  idle      orders (kafka)          0        0        0        0        0 false  idle at zero\n" +
		"    0s  idle      jobs (redis)            0        0        0        0        0 false  idle at zero\n" +
		"    1s  burst     orders (kafka)       1500        0     1500     1500      0→1 true   activated (KEDA 0→1)\n" +
		"    1s  burst     orders (kafka)       1500        0     1500     1500        1 true   a repeated second\n" +
		"    2s  burst     orders (kafka)       1500      100     2900     1200      1→5 true   HPA: ScaleUpLimited\n"
	d, err := ParseDemoRun(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Seconds) != 3 || d.Replicas[1] != 1 || d.Replicas[2] != 5 || d.Produced[2] != 1500 {
		t.Errorf("parsed %+v", d)
	}
	if d.Peak() != 5 || math.Abs(d.ReplicaMinutes()-6.0/60) > 1e-12 {
		t.Errorf("peak %d, replica-minutes %v", d.Peak(), d.ReplicaMinutes())
	}
	if _, err := ParseDemoRun(strings.NewReader("no rows\n")); err == nil {
		t.Error("accepted output without Kafka rows")
	}
}

// TestDemoReplay checks the model against reality (issue 19 item 4): the
// recorded demo run (kfake, the real scaler binary's server, pkg/hpa's
// fleet) replayed through the harness with the demo's configuration
// predicts its replica-minutes and peak within 15%.
func TestDemoReplay(t *testing.T) {
	d := readDemoRun(t)
	o, err := Run(d.Trace(), DemoPolicy())
	if err != nil {
		t.Fatal(err)
	}
	rm, peak := d.ReplicaMinutes(), float64(d.Peak())
	t.Logf("demo run: %.2f replica-minutes, peak %d; harness: %.2f replica-minutes, peak %d",
		rm, d.Peak(), o.ReplicaMinutes, o.Peak)
	if math.Abs(o.ReplicaMinutes-rm) > 0.15*rm || math.Abs(float64(o.Peak)-peak) > 0.15*peak {
		t.Errorf("the harness misses the demo by more than 15%%: replica-minutes %.2f against %.2f, peak %d against %d",
			o.ReplicaMinutes, rm, o.Peak, d.Peak())
	}
}
