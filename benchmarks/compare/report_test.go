package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
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
		case impl == ImplFloor: // no upstream, a constant answer
			r.P99, r.PerMinute, r.PerObs, r.Requests = 300, 0, 0, nil
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
	for i, impl := range []string{ActTidePush, ActKEDA1s, ActKEDA30s, ActTideRedis, ActKEDARedis1s, ActKEDARedis30s} {
		base := []float64{0.2, 1.2, 16, 0.1, 0.4, 8}[i]
		for trial := range 3 {
			res.Activation = append(res.Activation, ActivationResult{Impl: impl, Trial: trial, Seconds: base * (1 + 0.5*float64(trial))})
		}
	}
	res.Activation = append(res.Activation, ActivationResult{Impl: "keda-kafka-30s", Trial: 3, Error: "timeout"})
	for impl, per := range map[string]float64{ActKEDA30s: 6, ActKEDA1s: 180, ActTidePush: 5,
		ActKEDARedis30s: 6, ActKEDARedis1s: 180, ActTideRedis: 1.5} {
		suite, _ := actSuite(impl)
		res.ActivationCost = append(res.ActivationCost, ActivationCost{Impl: impl, Suite: suite, Triggers: 300,
			Window: 30, Requests: int(per * 150), PerTriggerMinute: per, ByKind: map[string]int{"llen": int(per * 50), "eval": int(per * 100)}})
	}
	slices.SortFunc(res.ActivationCost, func(a, b ActivationCost) int { return strings.Compare(a.Impl, b.Impl) })
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
		"## Correctness", "## Activation latency and its cost", "## Goals", "## Plots"} {
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
		"| keda-kafka-30s | kafka | 3 | 1 | 24 | 16 | 32 | 80.0× |",
		// keda-redis-30s median 12 s over tide-push-redis's 0.15 s.
		"| keda-redis-30s | redis | 3 | 0 | 12 | 8 | 16 | 80.0× |",
		// Cost per idle trigger per minute, over Tide's on the same upstream.
		"| keda-redis-30s | redis | 300 | 30 | 900 | 6 | 4.00× | eval 600, llen 300 |",
		"tide-push median 0.3 s, 5 vs keda-kafka-30s's 6 per idle trigger per min",
		// Goals.
		"(a) ≥10× fewer broker requests/min",
		"keda-kafka 23.5× [22.0–25.0]; keda-apache-kafka 12.0× [12.0–12.0]",
		"tide correct in 2 of 2 cases where a KEDA scaler is wrong",
		// The do-nothing external scaler is shown beside each latency
		// comparison, and is not a peer.
		"(the do-nothing external scaler: 300 µs)",
		// No kafka-big runs: its section and goal say so.
		"## Kafka, big cluster",
		"| (b, big cluster) ≥10× less attributable RSS than each KEDA Kafka scaler on the big cluster at its largest scale | not measured | the kafka-big suite did not run |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(md, "| 100 | "+ImplFloor+" |") {
		t.Error("the do-nothing external scaler appears as a peer in a ratio table")
	}
	if n := strings.Count(md, goalMet+" |"); n != 5 {
		t.Errorf("%d goals met, want 5:\n%s", n, md[strings.Index(md, "## Goals"):])
	}
	for _, f := range []string{"kafka-requests.png", "kafka-memory.png", "kafka-latency.png",
		"redis-commands.png", "redis-latency.png", "activation.png", "activation-tradeoff.png", "ratios.png"} {
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

// TestActivationGoal: the activation goal is met only where Tide's median
// is at most 0.5 s and its cost per idle trigger at most KEDA's 30 s
// loop's, on both upstreams; missing data is "not measured" or "partly".
func TestActivationGoal(t *testing.T) {
	trials := func(impl string, secs float64) []ActivationResult {
		return []ActivationResult{{Impl: impl, Seconds: secs}, {Impl: impl, Trial: 1, Seconds: secs}}
	}
	cost := func(impl string, per float64) ActivationCost {
		return ActivationCost{Impl: impl, PerTriggerMinute: per}
	}
	both := append(trials(ActTidePush, 0.2), trials(ActTideRedis, 0.1)...)
	for _, tc := range []struct {
		name   string
		as     []ActivationResult
		cs     []ActivationCost
		want   string
		detail string
	}{
		{"met", both, []ActivationCost{cost(ActTidePush, 5), cost(ActKEDA30s, 6), cost(ActTideRedis, 1), cost(ActKEDARedis30s, 6)}, goalMet, ""},
		{"kafka dearer", both, []ActivationCost{cost(ActTidePush, 7), cost(ActKEDA30s, 6), cost(ActTideRedis, 1), cost(ActKEDARedis30s, 6)}, goalNotMet, "7 vs keda-kafka-30s's 6"},
		{"redis slow", append(trials(ActTidePush, 0.2), trials(ActTideRedis, 0.9)...), []ActivationCost{cost(ActTidePush, 5), cost(ActKEDA30s, 6), cost(ActTideRedis, 1), cost(ActKEDARedis30s, 6)}, goalNotMet, "tide-push-redis median 0.9 s"},
		{"redis missing", trials(ActTidePush, 0.2), []ActivationCost{cost(ActTidePush, 5), cost(ActKEDA30s, 6)}, goalPartly, "tide-push-redis: not measured"},
		{"nothing", nil, nil, goalNotMeasured, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := activationGoal(tc.as, tc.cs)
			if g.Verdict != tc.want || !strings.Contains(g.Measured, tc.detail) {
				t.Errorf("got %q (%s); want %q with %q", g.Verdict, g.Measured, tc.want, tc.detail)
			}
		})
	}
}
