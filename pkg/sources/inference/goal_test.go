package inference

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// TestParseGoal: the goal syntax, p<percentile>:<duration>, and errors
// that name the key and quote the bad value.
func TestParseGoal(t *testing.T) {
	for _, c := range []struct {
		name, value string
		want        goal
		err         string
	}{
		{name: "p90 in ms", value: "p90:500ms", want: goal{90, 500 * time.Millisecond}},
		{name: "decimal percentile", value: "p99.5:2s", want: goal{99.5, 2 * time.Second}},
		{name: "spaces", value: " p50: 1.5s ", want: goal{50, 1500 * time.Millisecond}},
		{name: "edges", value: "p99.9:10m", want: goal{99.9, 10 * time.Minute}},
		{name: "no colon", value: "p90", err: "want p<percentile>:<duration>"},
		{name: "no p", value: "90:500ms", err: "want p<percentile>:<duration>"},
		{name: "fraction instead of percentile", value: "p0.9:500ms", err: "from 50 to 99.9"},
		{name: "percentile 100", value: "p100:1s", err: "from 50 to 99.9"},
		{name: "NaN percentile", value: "pNaN:1s", err: "from 50 to 99.9"},
		{name: "bare number", value: "p90:500", err: "must be a duration"},
		{name: "zero latency", value: "p90:0s", err: "must be a duration from 1ms"},
		{name: "negative latency", value: "p90:-1s", err: "must be a duration from 1ms"},
		{name: "too long", value: "p90:" + strings.Repeat("1", 100) + "ms", err: "..."},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := parseGoal("targetTTFT", c.value)
			if c.err == "" {
				if err != nil || g != c.want {
					t.Fatalf("parseGoal(%q) = %+v, %v; want %+v", c.value, g, err, c.want)
				}
				return
			}
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) || ce.Key != "targetTTFT" || !strings.Contains(err.Error(), c.err) ||
				!strings.Contains(err.Error(), c.value[:min(len(c.value), 20)]) {
				t.Fatalf("parseGoal(%q): %v; want a ConfigError on targetTTFT quoting the value, saying %q", c.value, err, c.err)
			}
		})
	}
}

// TestSLOKeys: the latency-goal keys parse into the query (and its key),
// are scrape-mode keys, and their errors name the key and the value.
func TestSLOKeys(t *testing.T) {
	tr := parseOK(t, with("targetTTFT", "p90:500ms", "targetTPOT", "p95:50ms", "sloBand", "0.3"), Env{})
	q := tr.Query().(*scrapeQuery)
	if q.sig.slo.goals[goalTTFT] != (goal{90, 500 * time.Millisecond}) || q.sig.slo.goals[goalTPOT] != (goal{95, 50 * time.Millisecond}) || q.sig.slo.band != 0.3 {
		t.Errorf("slo spec %+v", q.sig.slo)
	}
	if !strings.Contains(q.Key(), "slo=p90<=500ms,p95<=50ms/0.3") {
		t.Errorf("query key %q lacks the goals", q.Key())
	}
	if other := parseOK(t, with("targetTTFT", "p90:400ms"), Env{}); other.Query().Key() == q.Key() {
		t.Error("different goals share a query key")
	}
	if q := parseOK(t, with("targetTTFT", "p90:1s"), Env{}).Query().(*scrapeQuery); q.sig.slo.band != defaultSLOBand {
		t.Errorf("default band %v; want %v", q.sig.slo.band, defaultSLOBand)
	}
	for _, c := range []struct {
		md         metadata.Metadata
		key, value string
	}{
		{with("targetTPOT", "90:50ms"), "targetTPOT", "90:50ms"},
		{with("targetTTFT", "p90:1s", "sloBand", "1"), "sloBand", "1"},
		{with("targetTTFT", "p90:1s", "sloBand", "-0.1"), "sloBand", "-0.1"},
		{with("sloBand", "0.2"), "sloBand", "0.2"},
		{with("mode", "push", "model", "m", "targetTTFT", "p90:1s"), "targetTTFT", "p90:1s"},
	} {
		_, err := Parse(c.md, fullEnv())
		var ce *metadata.ConfigError
		if !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(err.Error(), c.value) {
			t.Errorf("%v: %v; want an error naming %s and %q", c.md, err, c.key, c.value)
		}
	}
}

// FuzzParseGoal: no value panics parseGoal; an accepted goal is in
// bounds and reads back the same from its canonical form; a rejected one
// is a ConfigError on the key.
func FuzzParseGoal(f *testing.F) {
	for _, s := range []string{"p90:500ms", "p99.9:10m", "p50:1ms", "p0.9:1s", "p90", ":", "p:", "p1e2:1s", "p90:1h", "pInf:1s", "p9 0:1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		g, err := parseGoal("targetTTFT", v)
		if err != nil {
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) || ce.Key != "targetTTFT" {
				t.Fatalf("%q: %v is not a ConfigError on targetTTFT", v, err)
			}
			return
		}
		if g.pct < minGoalPct || g.pct > maxGoalPct || g.d < minGoalLatency || g.d > maxGoalLatency {
			t.Fatalf("%q: accepted out of bounds: %+v", v, g)
		}
		back, err := parseGoal("targetTTFT", "p"+strconv.FormatFloat(g.pct, 'g', -1, 64)+":"+g.d.String())
		if err != nil || back != g {
			t.Fatalf("%q: canonical form reads back %+v, %v; want %+v", v, back, err, g)
		}
	})
}
