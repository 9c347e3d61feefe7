package observability

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestAlertsFire runs testdata/alerts.test.yaml with `promtool test rules`
// against the PrometheusRule's spec: each alert fires on the condition its
// runbook describes and stays quiet on its look-alikes (a retired
// upstream, a failure that recovered, streams KEDA closed, a 3% overrun
// rate, no stream limit). Every alert of the rule file must be tested there.
func TestAlertsFire(t *testing.T) {
	rules := loadRules(t)
	test, err := os.ReadFile(filepath.Join("testdata", "alerts.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			// The tests are about when alerts fire; promtool check rules
			// validates the annotations (TestPrometheusRulePassesPromtool).
			delete(r, "annotations")
			if name, _ := r["alert"].(string); name != "" && !strings.Contains(string(test), "alertname: "+name+"\n") {
				t.Errorf("alert %s is not tested in testdata/alerts.test.yaml", name)
			}
		}
	}
	dir := t.TempDir()
	writeRules(t, dir, "tide-rules.yaml", rules)
	if err := os.WriteFile(filepath.Join(dir, "alerts.test.yaml"), test, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runPromtool(t, "test", "rules", filepath.Join(dir, "alerts.test.yaml")); err != nil {
		t.Errorf("promtool test rules testdata/alerts.test.yaml: %v\n%s", err, out)
	}
}

// TestAlertsHaveRunbooks: the five alerts exist, each alert has a
// runbook section in README.md (### <alert>) and its runbook_url points at
// a section that exists.
func TestAlertsHaveRunbooks(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(readme), -1) {
		anchors[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(m[1]), " ", "-"))] = true
	}
	var alerts []string
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			name, _ := r["alert"].(string)
			if name == "" {
				continue
			}
			alerts = append(alerts, name)
			if !anchors[strings.ToLower(name)] {
				t.Errorf("alert %s has no section \"### %s\" in README.md", name, name)
			}
			ann, _ := r["annotations"].(map[string]any)
			url, _ := ann["runbook_url"].(string)
			const base = "https://github.com/tide-scaler/tide/blob/main/deploy/observability/README.md#"
			if a, ok := strings.CutPrefix(url, base); !ok || !anchors[a] {
				t.Errorf("alert %s: runbook_url %q is not %s<a section of README.md>", name, url, base)
			}
		}
	}
	for _, want := range []string{"TideUpstreamUnavailable", "TideSampleStale", "TideConfigWarning",
		"TidePollOverrun", "TideStreamLimitNear"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

// TestSelectors: the lexer finds the metric names (and matcher labels) of
// PromQL and nothing else: not functions, aggregations, grouping labels,
// strings, durations, numbers or comments.
func TestSelectors(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want string // metric[label,label] ...
	}{
		{`up`, "up[]"},
		{`rate(a_total{x="}", y=~'{b}'}[5m:30s] offset 1h) * 1e-3 + 0x1F`, "a_total[x,y]"},
		{`sum by (le, c) (rate(h_bucket[$__rate_interval]))`, "h_bucket[]"},
		{`sum(x) without (d) / ignoring(method) group_left() (lim > 0)`, "x[] lim[]"},
		{`SUM BY (a) (b) and on (c) d unless e or f`, "b[] d[] e[] f[]"},
		{"histogram_quantile(0.99, sum by (le) (rate(m_bucket{j=\"a\\\"b\"}[5m]))) # note: ignore{me}\n> bool 1", "m_bucket[j]"},
		{`time() - last @ start()`, "last[]"},
		{`label_replace(a, "dst", "$1", "src", "(.*)")`, "a[]"},
		{`topk(3, x:recorded) > .5`, "x:recorded[]"},
	} {
		sels, err := selectors(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		var got []string
		for _, s := range sels {
			got = append(got, s.metric+"["+strings.Join(s.labels, ",")+"]")
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("selectors(%s) = %s; want %s", tc.expr, g, tc.want)
		}
	}
	for _, bad := range []string{`{__name__="x"}`, `a{b="c"`, `a{b="c}`, `rate(a[5m)`} {
		if _, err := selectors(bad); err == nil {
			t.Errorf("selectors(%s): no error", bad)
		}
	}
	if got := substitute(`rate(a{n=~"$namespace", s=~"${so}"}[$__rate_interval])`); got != `rate(a{n=~".*", s=~".*"}[5m])` {
		t.Errorf("substitute: %s", got)
	}
}

// TestChartRulesMatch: the spec the Helm chart renders with
// prometheusRule.enabled (deploy/helm/tide/files/prometheusrule-spec.yaml)
// is the spec of prometheusrule.yaml, so the chart's alerts are the tested
// ones.
func TestChartRulesMatch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "helm", "tide", "files", "prometheusrule-spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart ruleGroups
	if err := yaml.UnmarshalStrict(b, &chart); err != nil {
		t.Fatalf("the chart's prometheusrule-spec.yaml: %v", err)
	}
	if want := loadRules(t); !reflect.DeepEqual(chart, want) {
		t.Errorf("deploy/helm/tide/files/prometheusrule-spec.yaml differs from the spec of prometheusrule.yaml; copy the groups over")
	}
}
