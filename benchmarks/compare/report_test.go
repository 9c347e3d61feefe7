package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testMiB = 1 << 20

// syntheticResults is a small, complete set of results: two repeats of
// every implementation at every scale, a few correctness cases and
// activation trials. At Kafka S = 1000 keda-kafka makes 25× (repeat 0) and
// 22× (repeat 1) the requests/min of tide.
func syntheticResults() *Results {
	res := &Results{
		Started:  time.Date(2026, 11, 27, 10, 0, 0, 0, time.FixedZone("CET", 3600)),
		Finished: time.Date(2026, 11, 27, 11, 30, 0, 0, time.FixedZone("CET", 3600)),
		Command:  "go run . -repeats 2 -out results/",
		Machine:  Machine{CPU: "Test CPU", Cores: 8, Memory: "16 GiB", Kernel: "6.1", OS: "linux/amd64", Go: "go1.26"},
		Versions: map[string]string{"keda": "v2.21.0", "tide": "dev", "franz-go": "v1.22.3"},
		Settings: Settings{
			Partitions: 12, Groups: 10, Brokers: 3, Window: Duration(time.Minute), Repeats: 2,
			PollingInterval: Duration(30 * time.Second), HPASync: Duration(15 * time.Second),
			TidePoll: Duration(time.Second), KafkaScales: []int{100, 1000, 3000}, RedisScales: []int{10, 100},
			LagThreshold: 100, ListLength: 5,
		},
		Idle: Footprint{RSS: 20 * testMiB, Goroutines: 10},
	}
	// Multipliers of Tide's figures per KEDA implementation.
	peers := map[string]float64{ImplKEDAKafka: 25, ImplKEDAApache: 12, ImplKEDARedis: 8}
	add := func(suite, impl string, scale, rep int) {
		s := float64(scale)
		tidePerMin := s / 10 * float64(rep+1) // 100 and 200 at S = 1000
		r := Run{
			Suite: suite, Impl: impl, Scale: scale, Repeat: rep, Window: 60,
			Observations: scale * 3, P50: 100, P99: 400, Allocs: 50, Bytes: 4000,
			Requests:  map[string]int{"ListOffsets": int(tidePerMin), "OffsetFetch": int(tidePerMin) / 2},
			PerMinute: tidePerMin, PerObs: 0.01, Conns: 3,
			Driver: Footprint{RSS: 25 * testMiB, Goroutines: 14},
		}
		switch {
		case impl == ImplTideSlow:
			r.PerMinute /= 15
			r.ServerAllocs, r.Server = 20, Footprint{RSS: 15 * testMiB, Goroutines: 30}
		case isTideImpl(impl):
			r.ServerAllocs, r.Server = 20, Footprint{RSS: 15 * testMiB, Goroutines: 30}
		default:
			f := peers[impl]
			if impl == ImplKEDAKafka && scale == 1000 && rep == 1 {
				f = 22
			}
			r.PerMinute, r.PerObs = tidePerMin*f, 0.01*f
			r.P99, r.Allocs, r.Conns = 400*f, 50*f, scale
			r.Requests = map[string]int{"Metadata": int(tidePerMin * f / 2), "ListOffsets": int(tidePerMin * f / 2)}
			r.Driver = Footprint{RSS: 20*testMiB + int64(f*20*testMiB), Goroutines: 10 + scale*2}
			if impl == ImplKEDAApache && rep == 0 {
				r.Errors, r.FirstError = 2, "dial tcp: i/o timeout | retrying"
			}
		}
		res.Runs = append(res.Runs, r)
	}
	for rep := range 2 {
		for _, sc := range res.Settings.KafkaScales {
			for _, impl := range reportKafkaImpls {
				add(statsSuiteKafka, impl, sc, rep)
			}
		}
		for _, sc := range res.Settings.RedisScales {
			for _, impl := range reportRedisImpls {
				add(statsSuiteRedis, impl, sc, rep)
			}
		}
	}
	for _, c := range []struct {
		name    string
		wrong   string
		wantErr bool
	}{{"steady-lag", "", false}, {"compacted-topic", ImplKEDAKafka, false}, {"missing-topic", ImplKEDAApache, true}} {
		for _, impl := range []string{ImplTide, ImplTideSlow, ImplKEDAKafka, ImplKEDAApache} {
			cr := CaseResult{Case: c.name, Description: "case " + c.name, Impl: impl, Lag: 500, Replicas: 5,
				WantLag: 500, WantRepl: 5, WantError: c.wantErr, Correct: true, Why: "tide reads committed offsets"}
			if c.wantErr {
				cr.Lag, cr.Replicas, cr.Error = 0, 0, "topic | not found"
			}
			if impl == c.wrong {
				cr.Correct, cr.Lag, cr.Replicas, cr.Why = false, 900, 9, "counts compacted offsets as lag"
				cr.Error = ""
			}
			res.Correctness = append(res.Correctness, cr)
		}
	}
	for i, impl := range []string{"tide-push", "keda-kafka-1s", "keda-kafka-30s"} {
		base := []float64{0.2, 1.2, 16}[i]
		for trial := range 3 {
			res.Activation = append(res.Activation, ActivationResult{Impl: impl, Trial: trial, Seconds: base * (1 + 0.5*float64(trial))})
		}
	}
	res.Activation = append(res.Activation, ActivationResult{Impl: "keda-kafka-30s", Trial: 3, Error: "timeout"})
	return res
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	if err := writeReport(dir, syntheticResults()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	// Headings in the order the report promises.
	last := -1
	for _, h := range []string{"# Tide vs KEDA", "2026-11-27 09:00:00 UTC", "```sh\ngo run . -repeats 2 -out results/\n```",
		"### Machine", "### Versions", "### Settings", "## Kafka", "### S = 1000 ScaledObjects",
		"### Kafka: KEDA ÷ Tide", "### broker requests by kind at S = 3000", "## Redis", "### S = 100 lists",
		"## Correctness", "## Activation latency", "## Goals", "## Plots"} {
		i := strings.Index(md, h)
		if i < 0 {
			t.Fatalf("report lacks %q:\n%s", h, md)
		}
		if i < last {
			t.Errorf("%q is out of order", h)
		}
		last = i
	}
	for _, want := range []string{
		// keda-kafka ÷ tide requests/min at S = 1000: repeats 25× and 22×.
		"| 1000 | keda-kafka | tide | 23.5× [22.0–25.0] |",
		// Tide's allocations are driver + server.
		"| 50 + 20 |",
		// Errors are summed, and escaped in the first-error line.
		"i/o timeout \\| retrying",
		"topic \\| not found",
		"✘ 900 / 9",
		"**compacted-topic** (keda-kafka): counts compacted offsets as lag",
		// Activation: keda-kafka-30s median 24 s over tide-push's 0.3 s.
		"| keda-kafka-30s | 3 | 1 | 24 | 16 | 32 | 80.0× |",
		// Goals.
		"(a) ≥10× fewer broker requests/min",
		"keda-kafka 23.5× [22.0–25.0]; keda-apache-kafka 12.0× [12.0–12.0]",
		"tide correct in 2 of 2 cases where a KEDA scaler is wrong",
		// No kafka-big runs: its section and goal say so.
		"## Kafka, big cluster",
		"| (b, big cluster) ≥10× less attributable RSS than each KEDA Kafka scaler on the big cluster at its largest scale | not measured | the kafka-big suite did not run |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(md, goalMet+" |"); n != 4 {
		t.Errorf("%d goals met, want 4:\n%s", n, md[strings.Index(md, "## Goals"):])
	}
	for _, f := range []string{"kafka-requests.png", "kafka-memory.png", "kafka-latency.png",
		"redis-commands.png", "redis-latency.png", "activation.png", "ratios.png"} {
		png, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s is not a PNG", f)
		}
		if !strings.Contains(md, "]("+f+")") {
			t.Errorf("report does not embed %s", f)
		}
	}
}

func TestWriteReportWithoutData(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  *Results
	}{
		{"empty", &Results{}},
		{"one run, no peers", &Results{Settings: Settings{KafkaScales: []int{1000, 3000}},
			Runs: []Run{{Suite: statsSuiteKafka, Impl: ImplTide, Scale: 1000, PerMinute: 0, P99: 3}}}},
		{"peer only", &Results{Runs: []Run{{Suite: statsSuiteRedis, Impl: ImplKEDARedis, Scale: 10, PerMinute: 5}},
			Activation: []ActivationResult{{Impl: "keda-kafka-1s", Error: "timeout"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := writeReport(dir, tc.res); err != nil {
				t.Fatal(err)
			}
			md, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(md), "## Goals") || !strings.Contains(string(md), goalNotMeasured) {
				t.Errorf("report lacks goals marked not measured:\n%s", md)
			}
		})
	}
}

func TestMdHelpers(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{mdNum(0), "0"}, {mdNum(12.345), "12.3"}, {mdNum(999.4), "999"}, {mdNum(1234567.8), "1,234,568"},
		{mdNum(-2500), "-2,500"}, {mdNum(0.0001234), "0.000123"},
		{mdRatio(spread{23.4, 21, 25.1, 2}), "23.4× [21.0–25.1]"}, {mdRatio(spread{N: 0}), "–"},
		{mdRatioVal(1.5), "1.50×"}, {mdRatioVal(0.25), "0.250×"}, {mdRatioVal(150), "150×"},
		{mdCell("a|b\nc", 80), `a\|b c`}, {mdCell("abcdef", 4), "abc…"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
