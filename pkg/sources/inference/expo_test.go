package inference

import (
	"bytes"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"
)

var vllmWanted = wantedNames(&signalSpec{metrics: [numSignals]string{
	"vllm:request_success_total", "vllm:num_requests_waiting", "vllm:num_requests_running", "vllm:kv_cache_usage_perc"}})

func expoOf(t *testing.T, st podState) []byte {
	t.Helper()
	var b bytes.Buffer
	writeVLLM(&b, st)
	return b.Bytes()
}

func TestParseExpositionFormats(t *testing.T) {
	st := podState{success: 42, waiting: 3, running: 7, kv: 0.25}
	protoBody := func() []byte {
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(expoOf(t, st)))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeProtoDelim))
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	omState := st
	omState.openMetrics = true
	tests := []struct {
		name, contentType string
		body              []byte
	}{
		{"text 0.0.4", "text/plain; version=0.0.4; charset=utf-8", expoOf(t, st)},
		{"text without version", "text/plain", expoOf(t, st)},
		{"no Content-Type", "", expoOf(t, st)},
		{"OpenMetrics with exemplars", "application/openmetrics-text; version=1.0.0; charset=utf-8", expoOf(t, omState)},
		{"delimited protobuf", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", protoBody()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := parseExposition(tt.body, tt.contentType, vllmWanted)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]float64{"vllm:request_success_total": 42, "vllm:num_requests_waiting": 3,
				"vllm:num_requests_running": 7, "vllm:kv_cache_usage_perc": 0.25}
			for name, v := range want {
				sum := 0.0
				for _, s := range e[name] {
					sum += s.value
				}
				if sum != v {
					t.Errorf("%s = %v (%d series), want %v", name, sum, len(e[name]), v)
				}
			}
			if len(e) != len(want) {
				t.Errorf("kept %d names, want only the %d wanted", len(e), len(want))
			}
		})
	}
}

func TestParseExpositionErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body, want string
	}{
		{"unclosed labels", "text/plain", "# HELP x y\nvllm:num_requests_waiting{a=\"b\" 1\n", "line 2"},
		{"value not a number", "text/plain", "\n\nvllm:num_requests_waiting 1x\n", "line 3"},
		{"OpenMetrics without EOF", "application/openmetrics-text; version=1.0.0", "vllm:num_requests_waiting 1\n", "# EOF"},
		{"content after EOF", "application/openmetrics-text", "vllm:num_requests_waiting 1\n# EOF\nx 1\n", "after # EOF"},
		{"OpenMetrics 2", "application/openmetrics-text; version=2.0.0", "# EOF\n", "unsupported OpenMetrics version"},
		{"text version 1.0", "text/plain; version=1.0.0", "x 1\n", "unsupported text exposition version"},
		{"JSON", "application/json", "{}", "unsupported Content-Type"},
		{"garbled Content-Type", "text/plain; ===", "x 1\n", "unreadable Content-Type"},
		{"protobuf garbage", "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited", "\x05abcde", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseExposition([]byte(tt.body), tt.contentType, vllmWanted)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestParseExpositionSkipsUnwanted: a broken line of a metric nobody reads
// does not fail the scrape; NaN is no reading.
func TestParseExpositionSkipsUnwanted(t *testing.T) {
	body := "some_histogram_bucket{le=\"1\" BROKEN\nvllm:num_requests_waiting NaN\nvllm:num_requests_running 2\n"
	e, err := parseExposition([]byte(body), "text/plain", vllmWanted)
	if err != nil {
		t.Fatal(err)
	}
	if len(e["vllm:num_requests_waiting"]) != 0 || len(e["vllm:num_requests_running"]) != 1 {
		t.Errorf("exposition %v", e)
	}
}

func TestCutExemplar(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a_bucket{le="1"} 3 # {trace_id="x"} 0.5 1.7e9`, `a_bucket{le="1"} 3`},
		{`a{path="/#frag"} 3 # {id="1"} 1`, `a{path="/#frag"} 3`},
		{`a{path="say \"#\""} 3`, `a{path="say \"#\""} 3`},
		{`a 3`, `a 3`},
	}
	for _, tt := range tests {
		if got := string(cutExemplar([]byte(tt.in))); got != tt.want {
			t.Errorf("cutExemplar(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMatches(t *testing.T) {
	lp := func(kv ...string) []*dto.LabelPair {
		var out []*dto.LabelPair
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, &dto.LabelPair{Name: proto.String(kv[i]), Value: proto.String(kv[i+1])})
		}
		return out
	}
	tests := []struct {
		labels []*dto.LabelPair
		sel    []labelMatch
		want   bool
	}{
		{lp("model_name", "a", "engine", "0"), []labelMatch{{"model_name", "a"}}, true},
		{lp("model_name", "b"), []labelMatch{{"model_name", "a"}}, false},
		{lp("engine", "0"), []labelMatch{{"model_name", ""}}, true},
		{lp("engine", "0"), nil, true},
	}
	for i, tt := range tests {
		if got := matches(tt.labels, tt.sel); got != tt.want {
			t.Errorf("case %d: matches = %v", i, got)
		}
	}
}
