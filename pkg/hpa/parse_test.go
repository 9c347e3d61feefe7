package hpa

import (
	"errors"
	"strings"
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

// TestParseBehaviorToleranceBounds: a tolerance's text is bounded before
// apimachinery parses it (which takes minutes over the first input), and
// the error names the field and the value.
func TestParseBehaviorToleranceBounds(t *testing.T) {
	for in, want := range map[string]string{
		`{scaleDown: {tolerance: "12345678901234567891e234567890"}}`: "behavior.scaleDown.tolerance: invalid value 12345678901234567891e234567890: a decimal exponent of at most 3 digits",
		`{scaleUp: {tolerance: 1e1000}}`:                             "behavior.scaleUp.tolerance: invalid value 1e1000: a decimal exponent of at most 3 digits",
		`{scaleUp: {tolerance: "` + strings.Repeat("1", 520) + `"}}`: "behavior.scaleUp.tolerance: invalid value " + strings.Repeat("1", 512) + "...: longer than 512 characters",
	} {
		if _, err := ParseBehavior([]byte(in)); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", in, err, want)
		}
	}
	if b, err := ParseBehavior([]byte(`{scaleUp: {tolerance: "1e-3"}}`)); err != nil || *b.ScaleUp.Tolerance != 0.001 {
		t.Errorf("a 1-digit exponent: %v", err)
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
