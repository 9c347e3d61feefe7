package hpa

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func i32(v int32) *int32     { return &v }
func f64(v float64) *float64 { return &v }

var (
	defaultUp = Rules{
		StabilizationWindowSeconds: i32(0),
		SelectPolicy:               SelectMax,
		Policies:                   []Policy{{PodsPolicy, 4, 15}, {PercentPolicy, 100, 15}},
	}
	defaultDown = Rules{
		StabilizationWindowSeconds: i32(300),
		SelectPolicy:               SelectMax,
		Policies:                   []Policy{{PercentPolicy, 100, 15}},
	}
)

func TestDefaults(t *testing.T) {
	withDown := func(r Rules) Behavior { up := defaultUp; return Behavior{ScaleUp: &up, ScaleDown: &r} }
	cases := []struct {
		name string
		in   *Behavior
		cfg  Config
		want Behavior
	}{
		{name: "nil is treated as behavior: {}", in: nil, cfg: DefaultConfig(), want: withDown(defaultDown)},
		{name: "empty behavior gets every default", in: &Behavior{}, cfg: DefaultConfig(), want: withDown(defaultDown)},
		{
			name: "scaleDown window comes from the controller flag",
			in:   &Behavior{}, cfg: Config{DownscaleStabilization: 90 * time.Second},
			want: withDown(Rules{StabilizationWindowSeconds: i32(90), SelectPolicy: SelectMax, Policies: defaultDown.Policies}),
		},
		{
			name: "flag is truncated to whole seconds",
			in:   &Behavior{}, cfg: Config{DownscaleStabilization: 1500 * time.Millisecond},
			want: withDown(Rules{StabilizationWindowSeconds: i32(1), SelectPolicy: SelectMax, Policies: defaultDown.Policies}),
		},
		{
			name: "set fields are kept, unset ones filled",
			in:   &Behavior{ScaleDown: &Rules{SelectPolicy: SelectMin, Tolerance: f64(0.05)}},
			cfg:  DefaultConfig(),
			want: withDown(Rules{StabilizationWindowSeconds: i32(300), SelectPolicy: SelectMin, Policies: defaultDown.Policies, Tolerance: f64(0.05)}),
		},
		{
			name: "a window of 0 is set, not unset",
			in:   &Behavior{ScaleDown: &Rules{StabilizationWindowSeconds: i32(0)}},
			cfg:  DefaultConfig(),
			want: withDown(Rules{StabilizationWindowSeconds: i32(0), SelectPolicy: SelectMax, Policies: defaultDown.Policies}),
		},
		{
			name: "policies replace the defaults, not merge",
			in:   &Behavior{ScaleUp: &Rules{Policies: []Policy{{PodsPolicy, 1, 60}}}},
			cfg:  DefaultConfig(),
			want: Behavior{
				ScaleUp:   &Rules{StabilizationWindowSeconds: i32(0), SelectPolicy: SelectMax, Policies: []Policy{{PodsPolicy, 1, 60}}},
				ScaleDown: &defaultDown,
			},
		},
		{
			name: "an explicit empty list survives (and fails Validate)",
			in:   &Behavior{ScaleUp: &Rules{Policies: []Policy{}}},
			cfg:  DefaultConfig(),
			want: Behavior{
				ScaleUp:   &Rules{StabilizationWindowSeconds: i32(0), SelectPolicy: SelectMax, Policies: []Policy{}},
				ScaleDown: &defaultDown,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Defaults(tc.in, tc.cfg)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Defaults() =\n up %+v\n down %+v\nwant\n up %+v\n down %+v", *got.ScaleUp, *got.ScaleDown, *tc.want.ScaleUp, *tc.want.ScaleDown)
			}
		})
	}
}

func TestDefaultsSharesNothing(t *testing.T) {
	in := &Behavior{ScaleUp: &Rules{StabilizationWindowSeconds: i32(10), Policies: []Policy{{PodsPolicy, 1, 60}}, Tolerance: f64(0)}}
	got := Defaults(in, DefaultConfig())
	*got.ScaleUp.StabilizationWindowSeconds = 99
	got.ScaleUp.Policies[0].Value = 99
	*got.ScaleUp.Tolerance = 99
	if *in.ScaleUp.StabilizationWindowSeconds != 10 || in.ScaleUp.Policies[0].Value != 1 || *in.ScaleUp.Tolerance != 0 {
		t.Errorf("Defaults aliased its input: %+v", *in.ScaleUp)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		b    Behavior
		want []string // substrings, one per expected error, in order; nil means valid
	}{
		{name: "empty", b: Behavior{}},
		{name: "defaults are valid", b: Defaults(nil, DefaultConfig())},
		{name: "window bounds are inclusive", b: Behavior{
			ScaleUp:   &Rules{StabilizationWindowSeconds: i32(0)},
			ScaleDown: &Rules{StabilizationWindowSeconds: i32(3600)},
		}},
		{name: "period bounds are inclusive", b: Behavior{ScaleUp: &Rules{Policies: []Policy{{PodsPolicy, 1, 1}, {PercentPolicy, 1000, 1800}}}}},
		{name: "tolerance 0 is valid", b: Behavior{ScaleUp: &Rules{Tolerance: f64(0)}}},
		{name: "negative window", b: Behavior{ScaleUp: &Rules{StabilizationWindowSeconds: i32(-1)}},
			want: []string{"behavior.scaleUp.stabilizationWindowSeconds: invalid value -1: must be between 0 and 3600"}},
		{name: "window over an hour", b: Behavior{ScaleDown: &Rules{StabilizationWindowSeconds: i32(3601)}},
			want: []string{"behavior.scaleDown.stabilizationWindowSeconds: invalid value 3601"}},
		{name: "unknown select policy", b: Behavior{ScaleDown: &Rules{SelectPolicy: "max"}},
			want: []string{`behavior.scaleDown.selectPolicy: invalid value "max": must be one of "Max", "Min", "Disabled"`}},
		{name: "empty policy list", b: Behavior{ScaleUp: &Rules{Policies: []Policy{}}},
			want: []string{"behavior.scaleUp.policies: invalid value []: must specify at least one policy"}},
		{name: "unknown policy type", b: Behavior{ScaleUp: &Rules{Policies: []Policy{{"Replicas", 1, 15}}}},
			want: []string{`behavior.scaleUp.policies[0].type: invalid value "Replicas"`}},
		{name: "zero value", b: Behavior{ScaleUp: &Rules{Policies: []Policy{{PodsPolicy, 1, 15}, {PodsPolicy, 0, 15}}}},
			want: []string{"behavior.scaleUp.policies[1].value: invalid value 0: must be greater than zero"}},
		{name: "zero period", b: Behavior{ScaleDown: &Rules{Policies: []Policy{{PercentPolicy, 10, 0}}}},
			want: []string{"behavior.scaleDown.policies[0].periodSeconds: invalid value 0: must be between 1 and 1800"}},
		{name: "period over 30 minutes", b: Behavior{ScaleDown: &Rules{Policies: []Policy{{PercentPolicy, 10, 1801}}}},
			want: []string{"behavior.scaleDown.policies[0].periodSeconds: invalid value 1801"}},
		{name: "negative tolerance", b: Behavior{ScaleUp: &Rules{Tolerance: f64(-0.1)}},
			want: []string{"behavior.scaleUp.tolerance: invalid value -0.1"}},
		{name: "NaN tolerance", b: Behavior{ScaleUp: &Rules{Tolerance: f64(math.NaN())}},
			want: []string{"behavior.scaleUp.tolerance: invalid value NaN"}},
		{name: "infinite tolerance", b: Behavior{ScaleDown: &Rules{Tolerance: f64(math.Inf(1))}},
			want: []string{"behavior.scaleDown.tolerance: invalid value +Inf"}},
		{name: "every error is reported, up before down", b: Behavior{
			ScaleUp:   &Rules{SelectPolicy: "Fastest", Policies: []Policy{{"", -1, 0}}},
			ScaleDown: &Rules{StabilizationWindowSeconds: i32(-5)},
		}, want: []string{
			"scaleUp.selectPolicy", "scaleUp.policies[0].type", "scaleUp.policies[0].value",
			"scaleUp.policies[0].periodSeconds", "scaleDown.stabilizationWindowSeconds",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.Contains(fe.Error(), tc.want[0]) {
				t.Errorf("first FieldError = %v, want one containing %q", fe, tc.want[0])
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("Validate() = %d errors:\n%v\nwant %d", len(lines), err, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
				}
			}
		})
	}
}

func TestHPATolerances(t *testing.T) {
	off := DefaultConfig()
	off.ConfigurableTolerance = false
	cases := []struct {
		name string
		b    *Behavior
		cfg  Config
		want Tolerances
	}{
		{name: "no behavior: the flag", b: nil, cfg: DefaultConfig(), want: DefaultTolerances},
		{name: "behavior without tolerance: the flag", b: &Behavior{ScaleUp: &Rules{}}, cfg: DefaultConfig(), want: DefaultTolerances},
		{name: "scaleUp only", b: &Behavior{ScaleUp: &Rules{Tolerance: f64(0)}}, cfg: DefaultConfig(), want: Tolerances{ScaleDown: 0.1, ScaleUp: 0}},
		{name: "scaleDown only", b: &Behavior{ScaleDown: &Rules{Tolerance: f64(0.5)}}, cfg: DefaultConfig(), want: Tolerances{ScaleDown: 0.5, ScaleUp: 0.1}},
		{name: "gate off ignores both", b: &Behavior{ScaleUp: &Rules{Tolerance: f64(0)}, ScaleDown: &Rules{Tolerance: f64(0.5)}}, cfg: off, want: DefaultTolerances},
		{name: "flag changes the fallback", b: &Behavior{ScaleUp: &Rules{Tolerance: f64(0)}}, cfg: Config{Tolerance: 0.2, ConfigurableTolerance: true}, want: Tolerances{ScaleDown: 0.2, ScaleUp: 0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := (HPA{Behavior: tc.b}).Tolerances(tc.cfg); got != tc.want {
				t.Errorf("Tolerances() = %+v, want %+v", got, tc.want)
			}
		})
	}
}
