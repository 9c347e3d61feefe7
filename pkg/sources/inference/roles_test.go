package inference

import (
	"errors"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// TestRoleVariantConfigErrors: a wrong role or variant key, a role without
// the goal it is sized by (or with the other role's), and a variants list
// without what a split needs are ConfigErrors naming the key and quoting
// the value.
func TestRoleVariantConfigErrors(t *testing.T) {
	svc := []string{"targets", "<unset>", "service", "vllm", "namespace", "ai"}
	vs := append(append([]string{}, svc...), "targetTTFT", "p90:500ms", "variants", "a100=3:8,l4=1", "variant", "l4")
	cases := []struct {
		name       string
		kv         []string
		key, value string
		want       string
	}{
		{"an unknown role", []string{"role", "both", "targetTTFT", "p90:1s"}, "role", "both", "prefill"},
		{"prefill without its goal", []string{"role", "prefill"}, "role", "prefill", "set targetTTFT"},
		{"decode without its goal", []string{"role", "decode", "targetTTFT", "p90:1s"}, "targetTTFT", "p90:1s", "prefill role's goal"},
		{"decode with no goal", []string{"role", "decode"}, "role", "decode", "set targetTPOT"},
		{"prefill with decode's goal", []string{"role", "prefill", "targetTTFT", "p90:1s", "targetTPOT", "p90:50ms"}, "targetTPOT", "p90:50ms", "decode role's goal"},
		{"roleLabel without role", []string{"roleLabel", "llm_d_role"}, "roleLabel", "llm_d_role", "set role"},
		{"roleLabel not a label", []string{"role", "prefill", "targetTTFT", "p90:1s", "roleLabel", "llm-d.ai/role"}, "roleLabel", "llm-d.ai/role", "label name"},
		{"role in push mode", []string{"mode", "push", "targets", "<unset>", "model", "m", "role", "prefill"}, "role", "prefill", "not used with mode push"},
		{"variants without a goal", append(append([]string{}, svc...), "variants", "a100=3,l4=1", "variant", "l4"), "variants", "a100=3,l4=1", "set targetTTFT or targetTPOT"},
		{"a variant's cost is no number", append(vs, "variants", "a100=three,l4=1"), "variants", "a100=three", "name=cost"},
		{"a zero cost", append(vs, "variants", "a100=0,l4=1"), "variants", "a100=0", "positive"},
		{"a bad maximum", append(vs, "variants", "a100=3:0,l4=1"), "variants", "a100=3:0", "maxReplicas"},
		{"one variant", append(vs, "variants", "a100=3", "variant", "a100"), "variants", "a100=3", "2 to 4"},
		{"five variants", append(vs, "variants", "a=1,b=1,c=1,d=1,e=1", "variant", "a"), "variants", "a=1,b=1,c=1,d=1,e=1", "2 to 4"},
		{"a variant twice", append(vs, "variants", "a100=3,a100=1"), "variants", "a100=1", "twice"},
		{"the variant is not listed", append(vs, "variant", "h100"), "variant", "h100", "not in variants (a100, l4)"},
		{"no variant chosen", append(vs, "variant", "<unset>"), "variant", "", "required"},
		{"variant without variants", append(vs, "variants", "<unset>"), "variant", "l4", "set variants"},
		{"variantLabel without variants", []string{"variantLabel", "gpu"}, "variantLabel", "gpu", "set variants"},
		{"static targets need variantLabel", append(vs, "service", "<unset>", "namespace", "<unset>", "targets", "http://10.0.0.1:8000"), "variants", "a100=3:8,l4=1", "set variantLabel"},
		{"variants with a role", append(vs, "role", "prefill"), "variants", "a100=3:8,l4=1", "role"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := with(c.kv...)
			_, err := Parse(md, fullEnv())
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) || ce.Key != c.key || ce.Value != c.value || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse: %v; want a ConfigError on %s=%q saying %q", err, c.key, c.value, c.want)
			}
		})
	}
}

// TestRoleAndVariantKeys: the prefill and decode triggers of one set of
// pods share the upstream (one scrape) and differ in query and metric
// name; the variants of one list share a group key and differ in query.
func TestRoleAndVariantKeys(t *testing.T) {
	pre := parseOK(t, with("role", "prefill", "targetTTFT", "p90:1s", "roleLabel", "llm_d_role"), fullEnv())
	dec := parseOK(t, with("role", "decode", "targetTPOT", "p90:50ms", "roleLabel", "llm_d_role"), fullEnv())
	if pre.Query().Upstream().Key != dec.Query().Upstream().Key || pre.Query().Key() == dec.Query().Key() {
		t.Errorf("prefill and decode: want one upstream and two queries")
	}
	if pre.MetricName() == dec.MetricName() || !strings.HasSuffix(pre.MetricName(), "-prefill") {
		t.Errorf("metric names %q, %q; want one per role", pre.MetricName(), dec.MetricName())
	}
	v := func(name string) *scrapeQuery {
		return parseOK(t, with("targetTTFT", "p90:1s", "variants", "a100=3,l4=1", "variant", name, "variantLabel", "gpu"), fullEnv()).Query().(*scrapeQuery)
	}
	a, l := v("a100"), v("l4")
	if a.groupKey != l.groupKey || a.key == l.key || a.groupKey == "" {
		t.Errorf("variants: want one group key and two query keys")
	}
}

// TestPodsOfDeployment: without variantLabel a variant's pods are its
// Deployment's, by name: d-<replicaset hash>-<pod hash>, exactly, so a
// Deployment named like the prefix of another takes none of its pods.
func TestPodsOfDeployment(t *testing.T) {
	re := podsOf("llama")
	for name, want := range map[string]bool{
		"llama-7d9f8c6b5-x2k4q": true, "llama-a100-7d9f8c6b5-x2k4q": false, "llama-7d9f8c6b5": false, "xllama-7d9f8c6b5-x2k4q": false,
	} {
		if re.MatchString(name) != want {
			t.Errorf("pod %q of Deployment llama: %t, want %t", name, !want, want)
		}
	}
}
