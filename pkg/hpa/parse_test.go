package hpa

import (
	"errors"
	"testing"
)

func TestParseBehaviorTolerances(t *testing.T) {
	for in, want := range map[string]float64{
		`{scaleUp: {tolerance: 0}}`: 0, `{scaleUp: {tolerance: 0.05}}`: 0.05, `{scaleUp: {tolerance: "0.1"}}`: 0.1,
		`{scaleUp: {tolerance: "50m"}}`: 0.05, `{"scaleUp": {"tolerance": "1"}}`: 1,
	} {
		b, err := ParseBehavior([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := *b.ScaleUp.Tolerance; got != want {
			t.Errorf("%s: tolerance %v, want %v", in, got, want)
		}
	}
}

func TestParseBehavior(t *testing.T) {
	b, err := ParseBehavior([]byte(`
scaleUp:
  tolerance: 0
  stabilizationWindowSeconds: 0
  policies: [{type: Pods, value: 4, periodSeconds: 15}]
scaleDown:
  selectPolicy: Min
`))
	if err != nil {
		t.Fatal(err)
	}
	if b.ScaleUp == nil || b.ScaleUp.Tolerance == nil || *b.ScaleUp.Tolerance != 0 ||
		len(b.ScaleUp.Policies) != 1 || b.ScaleUp.Policies[0] != (Policy{PodsPolicy, 4, 15}) ||
		b.ScaleDown.SelectPolicy != SelectMin || b.ScaleDown.StabilizationWindowSeconds != nil {
		t.Errorf("parsed %+v / %+v", b.ScaleUp, b.ScaleDown)
	}

	for _, tc := range []struct {
		name, in, field string // field: the FieldError's path, "" for a syntax error
	}{
		{"period 0", `{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: 0}]}}`, "behavior.scaleUp.policies[0].periodSeconds"},
		{"negative value", `{scaleDown: {policies: [{type: Percent, value: -5, periodSeconds: 60}]}}`, "behavior.scaleDown.policies[0].value"},
		{"window above 3600", `{scaleDown: {stabilizationWindowSeconds: 3601}}`, "behavior.scaleDown.stabilizationWindowSeconds"},
		{"negative tolerance", `{scaleUp: {tolerance: -0.1}}`, "behavior.scaleUp.tolerance"},
		{"negative quantity tolerance", `{scaleUp: {tolerance: "-50m"}}`, "behavior.scaleUp.tolerance"},
		{"tolerance not a quantity", `{scaleUp: {tolerance: "ten percent"}}`, ""},
		{"unknown field", `{scaleUp: {stabilisationWindowSeconds: 10}}`, ""},
		{"not yaml", `{scaleUp: [`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBehavior([]byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FieldError
			if tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
				t.Errorf("err %v; want a FieldError on %s", err, tc.field)
			}
		})
	}
}
