package hpa

import (
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// FuzzParseBehavior holds ParseBehavior to references outside it:
//   - the upstream type: the same bytes decoded into autoscaling/v2's
//     HorizontalPodAutoscalerBehavior and checked against the API server's
//     rules (written out below from pkg/apis/autoscaling/validation and
//     reference/hpa.md) are accepted exactly when ParseBehavior accepts
//     them, field for field equal, the tolerance as the controller reads
//     it after the API server stored it in canonical form;
//   - a round trip: an accepted behavior written back through the upstream
//     type parses to itself;
//   - the defaults: Defaults fills exactly the reference's values into
//     what was unset, and the result validates.
func FuzzParseBehavior(f *testing.F) {
	f.Add([]byte("scaleUp: {tolerance: 0, policies: [{type: Pods, value: 4, periodSeconds: 15}]}"))
	f.Add([]byte(`{"scaleDown": {"stabilizationWindowSeconds": 3601, "selectPolicy": "Sideways"}}`))
	f.Add([]byte("scaleUp:\n  tolerance: .nan\n"))
	f.Add([]byte(`{scaleUp: {selectPolicy: ""}}`))
	f.Add([]byte(`{scaleDown: {tolerance: "0.3", stabilizationWindowSeconds: 3600, selectPolicy: Disabled, policies: [{type: Percent, value: 1, periodSeconds: 1800}]}}`))
	f.Add([]byte(`{scaleUp: {tolerance: "-1e-30", policies: []}}`))
	f.Add([]byte(`{scaleUp: {tolerance: 1e-5}, scaleDown: {tolerance: "10e-6"}}`))
	f.Add([]byte(`{scaleUp: {tolerance: "1e-7"}, scaleDown: {tolerance: "123456789012345678901234567890"}}`))
	f.Add([]byte(`{scaleUp: null, scaleDown: {selectPolicy: null, policies: null}}`))
	// Each API rule on both sides of its edge, so every run checks them.
	for _, w := range []string{"-1", "0", "3600", "3601"} {
		f.Add([]byte(`{scaleDown: {stabilizationWindowSeconds: ` + w + `}}`))
	}
	for _, p := range []string{"-1", "0", "1", "1800", "1801"} {
		f.Add([]byte(`{scaleUp: {policies: [{type: Pods, value: 1, periodSeconds: ` + p + `}]}}`))
		f.Add([]byte(`{scaleUp: {policies: [{type: Percent, value: ` + p + `, periodSeconds: 60}]}}`))
	}
	for _, v := range []string{`""`, "Max", "Min", "Disabled", "max", "null"} {
		f.Add([]byte(`{scaleUp: {selectPolicy: ` + v + `}}`))
		f.Add([]byte(`{scaleDown: {policies: [{type: ` + v + `, value: 1, periodSeconds: 1}]}}`))
	}
	for _, v := range []string{`"-1n"`, "0", `"-0"`, `"1e400"`, "0.3", `"1.5"`, "-0.1"} {
		f.Add([]byte(`{scaleDown: {tolerance: ` + v + `}}`))
	}
	f.Add([]byte(`{scaleUp: {tolerance: "01-7"}, scaleDown: {tolerance: "12345678901234567891e234567890"}}`))
	f.Add([]byte(`{scaleDown: {tolerance: "1e999"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := ParseBehavior(in)
		if longToleranceExponent.Match(in) {
			// Stricter than the API server by choice: apimachinery takes
			// minutes over a quantity with a long decimal exponent, so the
			// reference is not asked; a tolerance refuses one
			// (TestParseBehaviorToleranceBounds).
			return
		}
		up, upOK := upstreamBehavior(in)
		if upOK && !finiteTolerances(up) {
			// Stricter than the API server by choice: a tolerance too large
			// for a float64 (1e400) is refused, not run as +Inf.
			if err == nil {
				t.Fatalf("a tolerance beyond float64 accepted: %+v", b)
			}
			return
		}
		if want := upOK && upstreamValid(up); (err == nil) != want {
			t.Fatalf("ParseBehavior accepts: %v (%v); the API server would: %v", err == nil, err, want)
		}
		if err != nil {
			return
		}
		if !sameRules(b.ScaleUp, up.ScaleUp) || !sameRules(b.ScaleDown, up.ScaleDown) {
			t.Fatalf("parsed %s; upstream %s", show(b), show(up))
		}

		again, err := ParseBehavior(toUpstreamYAML(t, b))
		if err != nil {
			t.Fatalf("written back, %s is refused: %v", show(b), err)
		}
		if !sameBehavior(again, b) {
			t.Fatalf("round trip: %s became %s", show(b), show(again))
		}

		d := Defaults(b, Config{DownscaleStabilization: 5 * time.Minute})
		if err := d.Validate(); err != nil {
			t.Fatalf("defaulted %s does not validate: %v", show(d), err)
		}
		checkDefaults(t, b.ScaleUp, d.ScaleUp, Rules{StabilizationWindowSeconds: ptr(int32(0)), SelectPolicy: SelectMax,
			Policies: []Policy{{PodsPolicy, 4, 15}, {PercentPolicy, 100, 15}}})
		checkDefaults(t, b.ScaleDown, d.ScaleDown, Rules{StabilizationWindowSeconds: ptr(int32(300)), SelectPolicy: SelectMax,
			Policies: []Policy{{PercentPolicy, 100, 15}}})
	})
}

// upstreamBehavior decodes in as the API server's type, as strictly.
func upstreamBehavior(in []byte) (*autoscalingv2.HorizontalPodAutoscalerBehavior, bool) {
	var b autoscalingv2.HorizontalPodAutoscalerBehavior
	if err := yaml.UnmarshalStrict(in, &b); err != nil {
		return nil, false
	}
	return &b, true
}

// upstreamValid is validateBehavior of pkg/apis/autoscaling/validation
// after defaulting (which fills a nil policy list, not an empty one), with
// KEP-4951's tolerance rule.
func upstreamValid(b *autoscalingv2.HorizontalPodAutoscalerBehavior) bool {
	for _, r := range []*autoscalingv2.HPAScalingRules{b.ScaleUp, b.ScaleDown} {
		if r == nil {
			continue
		}
		if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > 3600) {
			return false
		}
		if p := r.SelectPolicy; p != nil && *p != autoscalingv2.MaxChangePolicySelect &&
			*p != autoscalingv2.MinChangePolicySelect && *p != autoscalingv2.DisabledPolicySelect {
			return false
		}
		if r.Policies != nil && len(r.Policies) == 0 {
			return false
		}
		for _, p := range r.Policies {
			if (p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy) ||
				p.Value <= 0 || p.PeriodSeconds <= 0 || p.PeriodSeconds > 1800 {
				return false
			}
		}
		if r.Tolerance != nil && r.Tolerance.Sign() < 0 {
			return false
		}
	}
	return true
}

func finiteTolerances(b *autoscalingv2.HorizontalPodAutoscalerBehavior) bool {
	for _, r := range []*autoscalingv2.HPAScalingRules{b.ScaleUp, b.ScaleDown} {
		if r != nil && r.Tolerance != nil && math.IsInf(storedTolerance(*r.Tolerance), 0) {
			return false
		}
	}
	return true
}

// storedTolerance is the tolerance the HPA controller computes with: the
// API server stores the quantity in canonical form, and the controller
// reads that back.
func storedTolerance(q resource.Quantity) float64 {
	c := resource.MustParse(q.String())
	return c.AsApproximateFloat64()
}

func sameRules(r *Rules, u *autoscalingv2.HPAScalingRules) bool {
	if r == nil || u == nil {
		return r == nil && u == nil
	}
	if !reflect.DeepEqual(r.StabilizationWindowSeconds, u.StabilizationWindowSeconds) {
		return false
	}
	if (u.SelectPolicy == nil && r.SelectPolicy != "") || (u.SelectPolicy != nil && string(*u.SelectPolicy) != string(r.SelectPolicy)) {
		return false
	}
	if (r.Policies == nil) != (u.Policies == nil) || len(r.Policies) != len(u.Policies) {
		return false
	}
	for i, p := range u.Policies {
		if r.Policies[i] != (Policy{PolicyType(p.Type), p.Value, p.PeriodSeconds}) {
			return false
		}
	}
	if u.Tolerance == nil {
		return r.Tolerance == nil
	}
	return r.Tolerance != nil && *r.Tolerance == storedTolerance(*u.Tolerance)
}

// toUpstreamYAML writes b through the upstream type, as KEDA would put it
// in the HPA it creates.
func toUpstreamYAML(t *testing.T, b *Behavior) []byte {
	t.Helper()
	conv := func(r *Rules) *autoscalingv2.HPAScalingRules {
		if r == nil {
			return nil
		}
		u := &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: r.StabilizationWindowSeconds}
		if r.SelectPolicy != "" {
			p := autoscalingv2.ScalingPolicySelect(r.SelectPolicy)
			u.SelectPolicy = &p
		}
		if r.Policies != nil {
			u.Policies = []autoscalingv2.HPAScalingPolicy{}
			for _, p := range r.Policies {
				u.Policies = append(u.Policies, autoscalingv2.HPAScalingPolicy{Type: autoscalingv2.HPAScalingPolicyType(p.Type),
					Value: p.Value, PeriodSeconds: p.PeriodSeconds})
			}
		}
		if r.Tolerance != nil {
			// A quantity holds nanos (it rounds finer digits up), so the
			// float is written to the nano.
			q, err := resource.ParseQuantity(strconv.FormatFloat(*r.Tolerance, 'f', 9, 64))
			if err != nil {
				t.Fatalf("tolerance %v as a quantity: %v", *r.Tolerance, err)
			}
			u.Tolerance = &q
		}
		return u
	}
	out, err := yaml.Marshal(autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: conv(b.ScaleUp), ScaleDown: conv(b.ScaleDown)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameBehavior is equality, the tolerances up to a float64 rounding: a
// large quantity written out digit for digit reads back within an ulp.
func sameBehavior(a, b *Behavior) bool {
	for _, r := range [][2]*Rules{{a.ScaleUp, b.ScaleUp}, {a.ScaleDown, b.ScaleDown}} {
		x, y := r[0], r[1]
		if x == nil || y == nil {
			if x != y {
				return false
			}
			continue
		}
		if (x.Tolerance == nil) != (y.Tolerance == nil) ||
			(x.Tolerance != nil && math.Abs(*x.Tolerance-*y.Tolerance) > 1e-12*math.Abs(*y.Tolerance)) {
			return false
		}
		xs, ys := *x, *y
		xs.Tolerance, ys.Tolerance = nil, nil
		if !reflect.DeepEqual(xs, ys) {
			return false
		}
	}
	return true
}

// checkDefaults: d keeps what r set and holds the reference default
// elsewhere.
func checkDefaults(t *testing.T, r, d *Rules, def Rules) {
	t.Helper()
	if r == nil {
		r = &Rules{}
	}
	want := def
	if r.StabilizationWindowSeconds != nil {
		want.StabilizationWindowSeconds = r.StabilizationWindowSeconds
	}
	if r.SelectPolicy != "" {
		want.SelectPolicy = r.SelectPolicy
	}
	if r.Policies != nil {
		want.Policies = r.Policies
	}
	want.Tolerance = r.Tolerance // no default: unset means the flag
	if d == nil || !reflect.DeepEqual(*d, want) {
		t.Fatalf("defaulted %+v; want %+v", d, want)
	}
}

func show(v any) string {
	out, err := yaml.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(out)
}
