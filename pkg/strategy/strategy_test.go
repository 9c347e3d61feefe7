package strategy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
)

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		md      metadata.Metadata
		on      float64
		want    Options
		wantKey string // error naming this key
		wantIn  string // and containing this
	}{
		{name: "defaults", md: metadata.Metadata{}, on: 5,
			want: Options{Mode: Raw, Activation: Activation{On: 5, Off: 5, UnknownGrace: time.Minute}}},
		{name: "replicas mode, any case", md: metadata.Metadata{"metricMode": "Replicas"},
			want: Options{Mode: Replicas, Activation: Activation{UnknownGrace: time.Minute}}},
		{name: "hysteresis", md: metadata.Metadata{"deactivationThreshold": "2", "minActiveDuration": "90s"}, on: 10,
			want: Options{Mode: Raw, Activation: Activation{On: 10, Off: 2, MinActive: 90 * time.Second, UnknownGrace: time.Minute}}},
		{name: "bare seconds", md: metadata.Metadata{"minActiveDuration": "120"},
			want: Options{Mode: Raw, Activation: Activation{MinActive: 2 * time.Minute, UnknownGrace: time.Minute}}},
		{name: "unknown grace", md: metadata.Metadata{"unknownGracePeriod": "5m"},
			want: Options{Mode: Raw, Activation: Activation{UnknownGrace: 5 * time.Minute}}},
		{name: "unknown grace in bare seconds", md: metadata.Metadata{"unknownGracePeriod": "90"},
			want: Options{Mode: Raw, Activation: Activation{UnknownGrace: 90 * time.Second}}},
		{name: "unknown grace 0 is KEDA's behaviour", md: metadata.Metadata{"unknownGracePeriod": "0"},
			want: Options{Mode: Raw}},
		{name: "negative unknown grace", md: metadata.Metadata{"unknownGracePeriod": "-1s"}, wantKey: "unknownGracePeriod"},
		{name: "unknown grace too long", md: metadata.Metadata{"unknownGracePeriod": "25h"}, wantKey: "unknownGracePeriod"},
		{name: "unknown grace garbage", md: metadata.Metadata{"unknownGracePeriod": "a while"}, wantKey: "unknownGracePeriod"},
		{name: "unknown grace NaN", md: metadata.Metadata{"unknownGracePeriod": "NaN"}, wantKey: "unknownGracePeriod"},
		{name: "unknown grace huge bare number", md: metadata.Metadata{"unknownGracePeriod": "1e300"}, wantKey: "unknownGracePeriod"},
		{name: "unknown mode", md: metadata.Metadata{"metricMode": "percent"}, wantKey: "metricMode"},
		{name: "deactivation above activation", md: metadata.Metadata{"deactivationThreshold": "11"}, on: 10, wantKey: "deactivationThreshold"},
		{name: "negative deactivation", md: metadata.Metadata{"deactivationThreshold": "-1"}, on: 10, wantKey: "deactivationThreshold"},
		{name: "negative duration", md: metadata.Metadata{"minActiveDuration": "-5s"}, wantKey: "minActiveDuration"},
		{name: "duration too long", md: metadata.Metadata{"minActiveDuration": "48h"}, wantKey: "minActiveDuration"},
		{name: "duration garbage", md: metadata.Metadata{"minActiveDuration": "soon"}, wantKey: "minActiveDuration"},
		{name: "hpaName", md: metadata.Metadata{"hpaName": "my-hpa"},
			want: Options{Mode: Raw, Activation: Activation{UnknownGrace: time.Minute}, HPAName: "my-hpa"}},
		{name: "bad hpaName", md: metadata.Metadata{"hpaName": "My HPA"}, wantKey: "hpaName"},
		{name: "behavior period 0", md: metadata.Metadata{"hpaBehavior": "{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}"},
			wantKey: "hpaBehavior", wantIn: "behavior.scaleUp.policies[0].periodSeconds"},
		{name: "behavior negative value", md: metadata.Metadata{"hpaBehavior": "scaleDown:\n  policies:\n  - {type: Percent, value: -5, periodSeconds: 60}"},
			wantKey: "hpaBehavior", wantIn: "behavior.scaleDown.policies[0].value"},
		{name: "behavior window above 3600", md: metadata.Metadata{"hpaBehavior": `{"scaleDown": {"stabilizationWindowSeconds": 4000}}`},
			wantKey: "hpaBehavior", wantIn: "stabilizationWindowSeconds"},
		{name: "behavior unknown field", md: metadata.Metadata{"hpaBehavior": "{scaleUp: {window: 3}}"},
			wantKey: "hpaBehavior", wantIn: "window"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.md, tc.on)
			if tc.wantKey != "" {
				var ce *metadata.ConfigError
				if !errors.As(err, &ce) || ce.Key != tc.wantKey {
					t.Fatalf("err = %v, want a ConfigError naming %q", err, tc.wantKey)
				}
				if v := tc.md[tc.wantKey]; tc.wantIn == "" && !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name the bad value %q", err, v)
				}
				if !strings.Contains(err.Error(), tc.wantIn) {
					t.Errorf("error %q does not contain %q", err, tc.wantIn)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseBehavior(t *testing.T) {
	o, err := Parse(metadata.Metadata{"metricMode": "replicas", "hpaBehavior": "scaleUp:\n  tolerance: 0\n"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if o.Behavior == nil || o.Behavior.ScaleUp == nil || o.Behavior.ScaleUp.Tolerance == nil || *o.Behavior.ScaleUp.Tolerance != 0 {
		t.Errorf("behavior %+v", o.Behavior)
	}
}

func TestOutput(t *testing.T) {
	raw := Options{Mode: Raw}
	if v, tg := raw.Value(105, 10), raw.Target(10); v != 105 || tg != 10 {
		t.Errorf("raw: %v/%v, want 105/10", v, tg)
	}
	rep := Options{Mode: Replicas}
	if v, tg := rep.Value(105, 10), rep.Target(10); v != 10 || tg != 1 {
		t.Errorf("replicas: %v/%v, want 10/1", v, tg)
	}
}

func TestLatch(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		t        int // seconds after t0
		activity float64
		want     bool
	}
	cases := []struct {
		name  string
		a     Activation
		steps []step
	}{
		{name: "plain threshold", a: Activation{On: 0, Off: 0}, steps: []step{
			{1, 0, false}, {2, 1, true}, {3, 0, false}, {4, 3, true}}},
		{name: "hysteresis band holds", a: Activation{On: 10, Off: 2}, steps: []step{
			{1, 10, false}, // at the threshold is not above it
			{2, 11, true},
			{3, 5, true}, // inside the band: stays active
			{4, 2, false},
			{5, 5, false}, // inside the band: stays inactive
			{6, 10.5, true}}},
		{name: "minimum active duration", a: Activation{On: 0, Off: 0, MinActive: 30 * time.Second}, steps: []step{
			{0, 1, true}, {10, 0, true}, {29, 0, true}, {30, 0, false}, {31, 1, true}, {40, 0, true}}},
		{name: "older and repeated samples change nothing", a: Activation{On: 0, Off: 0}, steps: []step{
			{5, 1, true},
			{5, 0, true}, // same sample time: already applied
			{4, 0, true}, // older sample (a stale cache read): ignored
			{6, 0, false}}},
		{name: "skipped samples still respect the band", a: Activation{On: 10, Off: 2, MinActive: time.Minute}, steps: []step{
			{0, 50, true}, {120, 3, true}, {180, 1, false}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var l Latch
			for i, s := range tc.steps {
				if got := l.Step(tc.a, at(s.t), s.activity, false); got != s.want {
					t.Fatalf("step %d (t=%ds, activity %v): active = %v, want %v", i, s.t, s.activity, got, s.want)
				}
			}
		})
	}
}

// unknownStep is one sample for the latch: seconds after t0, activity,
// whether it is unknown, and the answer wanted after it.
type unknownStep struct {
	t        int
	activity float64
	unknown  bool
	want     bool
}

const (
	known   = false
	unknown = true
)

// runUnknownSteps steps a fresh latch through steps, failing on the first
// wrong answer.
func runUnknownSteps(t *testing.T, a Activation, steps []unknownStep) {
	t.Helper()
	t0 := time.Unix(1_800_000_000, 0)
	var l Latch
	for i, s := range steps {
		if got := l.Step(a, t0.Add(time.Duration(s.t)*time.Second), s.activity, s.unknown); got != s.want {
			t.Fatalf("step %d (t=%ds, activity %v, unknown %v): active = %v, want %v", i, s.t, s.activity, s.unknown, got, s.want)
		}
	}
}

// TestLatchUnknown: an unknown sample (an empty or NaN answer read as 0)
// never activates; while active it holds the latch until samples have been
// unknown for UnknownGrace since the first of the run, then counts as its
// activity; a known sample ends the run.
func TestLatchUnknown(t *testing.T) {
	grace := Activation{On: 0, Off: 0, UnknownGrace: time.Minute}
	for _, tc := range []struct {
		name  string
		a     Activation
		steps []unknownStep
	}{
		{"unknown never activates from inactive", grace, []unknownStep{
			{0, 0, unknown, false}, {100, 0, unknown, false}, {200, 5, unknown, false}, {300, 0, known, false}}},
		{"unknown never activates, grace 0 either", Activation{}, []unknownStep{
			{0, 0, unknown, false}, {100, 5, unknown, false}}},
		{"held for the grace, then deactivates", grace, []unknownStep{
			{0, 3, known, true}, {10, 0, unknown, true}, {69, 0, unknown, true}, {70, 0, unknown, false},
			{80, 0, unknown, false}}},
		{"a known sample ends the run", grace, []unknownStep{
			{0, 3, known, true}, {10, 0, unknown, true}, {60, 3, known, true},
			{65, 0, unknown, true}, {124, 0, unknown, true}, {125, 0, unknown, false}}},
		{"a known 0 deactivates at once", grace, []unknownStep{
			{0, 3, known, true}, {10, 0, unknown, true}, {20, 0, known, false}}},
		{"grace 0 is KEDA's: unknown counts as 0 at once", Activation{}, []unknownStep{
			{0, 3, known, true}, {1, 0, unknown, false}}},
		{"minActiveDuration still holds after the grace", Activation{UnknownGrace: time.Minute, MinActive: 2 * time.Minute}, []unknownStep{
			{0, 3, known, true}, {10, 0, unknown, true}, {70, 0, unknown, true}, {119, 0, unknown, true},
			{120, 0, unknown, false}}},
		{"after the grace the band's Off decides", Activation{On: 10, Off: 2, UnknownGrace: time.Minute}, []unknownStep{
			{0, 11, known, true}, {10, 0, unknown, true}, {70, 0, unknown, false}}},
		{"a run begun while inactive ends at activation", grace, []unknownStep{
			{0, 0, unknown, false}, {100, 5, known, true}, {110, 0, unknown, true}, {169, 0, unknown, true},
			{170, 0, unknown, false}}},
		{"older and repeated unknown samples change nothing", grace, []unknownStep{
			{0, 3, known, true}, {30, 3, known, true},
			{20, 0, unknown, true},                       // older: does not start the run at 20
			{40, 0, unknown, true}, {40, 0, known, true}, // same time: already applied
			{99, 0, unknown, true}, {100, 0, unknown, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) { runUnknownSteps(t, tc.a, tc.steps) })
	}
}

func TestStateful(t *testing.T) {
	for _, tc := range []struct {
		a    Activation
		want bool
	}{
		{Activation{On: 3, Off: 3}, false},
		{Activation{On: 3, Off: 1}, true},
		{Activation{On: 3, Off: 3, MinActive: time.Second}, true},
		{Activation{On: 3, Off: 3, UnknownGrace: time.Second}, true},
	} {
		if got := tc.a.Stateful(); got != tc.want {
			t.Errorf("%+v: Stateful = %v, want %v", tc.a, got, tc.want)
		}
	}
}
