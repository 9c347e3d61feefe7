package quality

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const validTrace = `{
  "name": "t", "goalSeconds": 60, "durationSeconds": 300, "partitions": 4,
  "rates": [{"at": 0, "total": 10}, {"at": 100, "perPartition": [1, 2, 3, 4]}],
  "fleet": {"consumerRate": 20, "podStartSeconds": 30, "commitIntervalSeconds": 5,
            "initialReplicas": 1, "minReplicas": 1, "maxReplicas": 4},
  "scaler": {"lagThreshold": 100}
}`

func TestParseValid(t *testing.T) {
	tr, err := Parse([]byte(validTrace))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Rebalance() != DefaultRebalanceSeconds {
		t.Errorf("rebalance %v, want the default %v", tr.Rebalance(), DefaultRebalanceSeconds)
	}
	if r := tr.RateAt(0, 50); r != 2.5 {
		t.Errorf("rate of partition 0 at 50 s = %v, want 2.5 (10/s over 4)", r)
	}
	if r := tr.RateAt(3, 150); r != 4 {
		t.Errorf("rate of partition 3 at 150 s = %v, want 4 (perPartition)", r)
	}
}

// Every committed trace parses.
func TestCommittedTraces(t *testing.T) {
	paths, err := TraceFiles("traces")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if _, err := ReadTrace(p); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// TestParseRejects mutates the valid trace one field at a time; each error
// must name the field and show the bad value.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, old, new string
		field, value   string // substrings of the error
	}{
		{"unknown field", `"partitions": 4,`, `"partitions": 4, "partition": 3,`, `"partition"`, "unknown field"},
		{"empty name", `"name": "t"`, `"name": " "`, "name", `" "`},
		{"goal zero", `"goalSeconds": 60`, `"goalSeconds": 0`, "goalSeconds", "0"},
		{"duration too long", `"durationSeconds": 300`, `"durationSeconds": 999999`, "durationSeconds", "999999"},
		{"no partitions", `"partitions": 4`, `"partitions": 0`, "partitions", "0"},
		{"interpolation", `"partitions": 4,`, `"partitions": 4, "interpolation": "cubic",`, "interpolation", `"cubic"`},
		{"weights count", `"partitions": 4,`, `"partitions": 4, "weights": [1, 2],`, "weights", "2"},
		{"negative weight", `"partitions": 4,`, `"partitions": 4, "weights": [1, -2, 1, 1],`, "weights[1]", "-2"},
		{"no rates", `"rates": [{"at": 0, "total": 10}, {"at": 100, "perPartition": [1, 2, 3, 4]}]`, `"rates": []`, "rates", "[]"},
		{"rates out of order", `{"at": 100, "perPartition"`, `{"at": 0, "perPartition"`, "rates[1].at", "0"},
		{"negative rate", `"total": 10`, `"total": -10`, "rates[0].total", "-10"},
		{"both total and perPartition", `"total": 10}`, `"total": 10, "perPartition": [1,1,1,1]}`, "rates[0]", "exactly one"},
		{"perPartition count", `[1, 2, 3, 4]`, `[1, 2, 3]`, "rates[1].perPartition", "3"},
		{"perPartition negative", `[1, 2, 3, 4]`, `[1, 2, -3, 4]`, "rates[1].perPartition[2]", "-3"},
		{"consumer rate", `"consumerRate": 20`, `"consumerRate": -1`, "fleet.consumerRate", "-1"},
		{"spread", `"consumerRate": 20`, `"consumerRate": 20, "consumerRateSpread": 0.9`, "fleet.consumerRateSpread", "0.9"},
		{"rebalance", `"podStartSeconds": 30`, `"podStartSeconds": 30, "rebalanceSeconds": -1`, "fleet.rebalanceSeconds", "-1"},
		{"commit interval", `"commitIntervalSeconds": 5`, `"commitIntervalSeconds": 2.5`, "fleet.commitIntervalSeconds", "2.5"},
		{"max below min", `"maxReplicas": 4`, `"maxReplicas": 0`, "fleet.maxReplicas", "0"},
		{"initial above max", `"initialReplicas": 1`, `"initialReplicas": 9`, "fleet.initialReplicas", "9"},
		{"threshold", `"lagThreshold": 100`, `"lagThreshold": 0`, "scaler.lagThreshold", "0"},
		{"stall partition", `"partitions": 4,`, `"partitions": 4, "stalls": [{"partition": 7, "fromSeconds": 1, "toSeconds": 2}],`, "stalls[0].partition", "7"},
		{"stall backwards", `"partitions": 4,`, `"partitions": 4, "stalls": [{"partition": 1, "fromSeconds": 5, "toSeconds": 2}],`, "stalls[0].toSeconds", "2"},
		{"slowdown factor", `"partitions": 4,`, `"partitions": 4, "slowdowns": [{"fromSeconds": 1, "toSeconds": 2, "factor": -1}],`, "slowdowns[0].factor", "-1"},
		{"trailing data", `"lagThreshold": 100}
}`, `"lagThreshold": 100}
} {}`, "trace", "after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(validTrace, tt.old, tt.new, 1)
			if src == validTrace {
				t.Fatalf("mutation %q not found", tt.old)
			}
			_, err := Parse([]byte(src))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q does not name %q and %q", err, tt.field, tt.value)
			}
		})
	}
}

func TestReadTraceNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(path, []byte(`{"name": ""}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTrace(path); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("error %v does not name the file", err)
	}
}
