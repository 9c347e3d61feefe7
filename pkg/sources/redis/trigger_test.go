package redis

import (
	"context"
	"math"
	"regexp"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/pkg/sources"
)

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name       string
		activation float64
		value      float64
		active     bool
	}{
		{"empty is inactive", 0, 0, false},
		// KEDA #7835: the default threshold must let one message activate.
		{"one waiting entry activates by default", 0, 1, true},
		{"at the threshold is inactive", 3, 3, false},
		{"above the threshold is active", 3, 4, true},
		{"fractional threshold", 0.5, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := &Trigger{target: 5, activation: tc.activation}
			s := sources.Sample{Value: tc.value, Activity: tc.value}
			m := tr.Evaluate(s)
			if active := s.Activity > tr.Activation(); m.Value != tc.value || active != tc.active || m.Reason != "" {
				t.Errorf("Evaluate(%v) = %+v, want value %v active %v", tc.value, m, tc.value, tc.active)
			}
		})
	}
}

func TestMetricName(t *testing.T) {
	long := strings.Repeat("queue", 20)
	tests := []struct {
		name string
		q    *query
		want string
	}{
		{"one list", &query{kind: readKeys, names: []string{"jobs"}}, "redis-jobs"},
		{"several keys sanitized", &query{kind: readKeys, names: []string{"A", "bull:*:wait"}}, "redis-a.bull---wait"},
		{"stream length", &query{kind: readLength, stream: "events"}, "redis-streams-events"},
		{"stream group", &query{kind: readLag, stream: "events", group: "Workers"}, "redis-streams-events-workers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := metricName(tc.q); got != tc.want {
				t.Errorf("metricName = %q, want %q", got, tc.want)
			}
		})
	}
	a := metricName(&query{kind: readKeys, names: []string{long + "a"}})
	b := metricName(&query{kind: readKeys, names: []string{long + "b"}})
	if len(a) != 60 || a == b || !regexp.MustCompile(`^[a-z0-9.-]+-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("long names %q and %q: want %d characters, distinct, ending in a hash", a, b, 60)
	}
}

// TestQueueDepth: each counted type maps to its plain command, nothing else
// is counted, and no command is a script.
func TestQueueDepth(t *testing.T) {
	pipe := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"}).Pipeline()
	tests := []struct {
		typ, cmd string
	}{
		{"list", "llen"}, {"zset", "zcard"}, {"set", "scard"}, {"hash", "hlen"},
		{"string", ""}, {"stream", ""}, {"none", ""}, {"ReJSON-RL", ""},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			c := queueDepth(context.Background(), pipe, tc.typ, "k")
			got := ""
			if c != nil {
				got = c.Name()
				if args := c.Args(); len(args) != 2 || args[1] != "k" {
					t.Errorf("args %v", args)
				}
			}
			if got != tc.cmd || counted(tc.typ) != (tc.cmd != "") {
				t.Errorf("type %s: command %q counted %v, want %q", tc.typ, got, counted(tc.typ), tc.cmd)
			}
		})
	}
}

func TestKeySample(t *testing.T) {
	reads := map[string]keyRead{
		"l": {typ: "list", depth: 3}, "z": {typ: "zset", depth: 4}, "s": {typ: "set", depth: 5}, "h": {typ: "hash", depth: 6},
		"gone": {typ: "none"}, "str": {typ: "string"}, "st": {typ: "stream"},
	}
	lit := func(k string) member { return member{key: k} }
	glob := func(k string) member { return member{key: k, pattern: "p:*"} }
	tests := []struct {
		name    string
		members []member
		value   float64
		parts   int
		notes   []string
		err     string
	}{
		{"sum of every counted type", []member{lit("h"), lit("l"), lit("s"), lit("z")}, 18, 4, nil, ""},
		{"missing literal key is 0 with a note", []member{lit("gone"), lit("l")}, 3, 2, []string{`key "gone" does not exist: counted as 0`}, ""},
		{"vanished pattern key is 0 without a note", []member{glob("gone"), glob("l")}, 3, 2, nil, ""},
		{"literal string key is an error", []member{lit("l"), lit("str")}, 0, 0, nil, `key "str" is a string`},
		{"literal stream key points to stream", []member{lit("st")}, 0, 0, nil, "stream key instead of listName"},
		{"pattern skips other types with one note", []member{glob("l"), glob("st"), glob("str")}, 3, 1,
			[]string{`pattern "p:*" matches keys of type stream, string, which are not counted`}, ""},
		{"nothing", nil, 0, 0, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := keySample(tc.members, reads)
			if tc.err != "" {
				wantErr(t, tc.name, err, tc.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Value != tc.value || s.Activity != tc.value || len(s.Parts) != tc.parts ||
				strings.Join(s.Notes, "\n") != strings.Join(tc.notes, "\n") {
				t.Errorf("sample %+v, want value %v, %d parts, notes %q", s, tc.value, tc.parts, tc.notes)
			}
		})
	}
	if _, err := keySample([]member{lit("l"), lit("bad")}, map[string]keyRead{"l": {typ: "list"}, "bad": {err: context.Canceled}}); err != context.Canceled {
		t.Errorf("a key's read error: got %v", err)
	}
}

// TestEvaluateLagTarget: with rates, the fewest replicas that keep up and
// drain the lag within lagTarget, uncapped; without, lagCount's count and
// a reason.
func TestEvaluateLagTarget(t *testing.T) {
	tr := mustParse(t, nil, map[string]string{"address": "redis:6379", "stream": "s", "consumerGroup": "g",
		"lagCount": "1000", "metricMode": "replicas", "lagTarget": "30s"})
	flow := &sources.Flow{Produced: 120, PerConsumer: 25, LagSeconds: 40, LagSecondsExact: true}
	for _, tc := range []struct {
		name     string
		s        sources.Sample
		replicas int64
		rule     string
		reason   string
	}{
		// (120/s + 3000/30s) / 25/s = 8.8 -> 9; lagCount alone says 3.
		{"keeps up and drains in time", sources.Sample{Value: 3000, Flow: flow}, 9, RuleLagTarget, "-> 9"},
		{"no cap: a stream has no partitions", sources.Sample{Value: 300000, Flow: flow}, 405, RuleLagTarget, "-> 405"},
		{"no flow", sources.Sample{Value: 3000}, 3, "", "lagTarget: no rates; lagCount decides"},
		{"capacity unknown (or Redis < 7)", sources.Sample{Value: 3000, Flow: &sources.Flow{Produced: 120, LagSeconds: 9}}, 3, "",
			"lagTarget: per-consumer rate not observed yet; lagCount decides"},
		{"garbage rate", sources.Sample{Value: 3000, Flow: &sources.Flow{Produced: math.NaN(), PerConsumer: 25}}, 3, "",
			"not a rate; lagCount decides"},
		{"idle", sources.Sample{Flow: &sources.Flow{PerConsumer: 25}}, 0, RuleLagTarget, "-> 0"},
		{"production only", sources.Sample{Flow: &sources.Flow{Produced: 1, PerConsumer: 25}}, 1, RuleLagTarget, "-> 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tr.Evaluate(tc.s)
			if m.Replicas != tc.replicas || m.Rule != tc.rule || !strings.Contains(m.Reason, tc.reason) || m.Value != tc.s.Value {
				t.Errorf("got %+v; want replicas %d rule %q reason containing %q, value %v", m, tc.replicas, tc.rule, tc.reason, tc.s.Value)
			}
		})
	}
	// Without lagTarget a Flow changes nothing.
	plain := mustParse(t, nil, map[string]string{"address": "redis:6379", "stream": "s", "consumerGroup": "g", "lagCount": "1000"})
	if m := plain.Evaluate(sources.Sample{Value: 3000, Flow: flow}); m.Replicas != 3 || m.Rule != "" || m.Reason != "" {
		t.Errorf("without lagTarget: %+v", m)
	}
}
