package observability

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"sigs.k8s.io/yaml"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/internal/testci"
	"github.com/tide-scaler/tide/pkg/metrics"
)

// query is one PromQL expression of the dashboard or the rules, with where
// it is, for messages.
type query struct {
	where, expr string
	label       string // label_values(expr, label): a label the metric must have
}

// ruleGroups is the spec of the PrometheusRule: promtool's rule file format.
type ruleGroups struct {
	Groups []struct {
		Name  string           `json:"name"`
		Rules []map[string]any `json:"rules"`
	} `json:"groups"`
}

func loadRules(t *testing.T) ruleGroups {
	t.Helper()
	b, err := os.ReadFile("prometheusrule.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec ruleGroups `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(b, &pr); err != nil {
		t.Fatalf("prometheusrule.yaml: %v", err)
	}
	if pr.APIVersion != "monitoring.coreos.com/v1" || pr.Kind != "PrometheusRule" {
		t.Fatalf("prometheusrule.yaml is %s %s; want monitoring.coreos.com/v1 PrometheusRule", pr.APIVersion, pr.Kind)
	}
	return pr.Spec
}

// ruleQueries returns the expression of every alert and recording rule.
func (g ruleGroups) queries(t *testing.T) []query {
	t.Helper()
	var out []query
	for _, grp := range g.Groups {
		for i, r := range grp.Rules {
			name, _ := r["alert"].(string)
			if name == "" {
				name, _ = r["record"].(string)
			}
			expr, _ := r["expr"].(string)
			if expr == "" {
				t.Errorf("prometheusrule.yaml group %s rule %d (%s): no expr", grp.Name, i, name)
			}
			out = append(out, query{where: fmt.Sprintf("prometheusrule.yaml rule %s", name), expr: expr})
		}
	}
	return out
}

// writeRules writes groups as a promtool rule file in dir.
func writeRules(t *testing.T, dir, name string, groups ruleGroups) string {
	t.Helper()
	b, err := yaml.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type panel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

// dashboardQueries returns every query of grafana-dashboard.json: panel
// targets and query variables, Grafana variables substituted.
func dashboardQueries(t *testing.T) []query {
	t.Helper()
	b, err := os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	var out []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("grafana-dashboard.json panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				where := fmt.Sprintf("grafana-dashboard.json panel %q query %s", p.Title, tg.RefID)
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: empty expr", where)
				}
				out = append(out, query{where: where, expr: substitute(tg.Expr)})
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q string
		if json.Unmarshal(v.Query, &q) != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Fatalf("grafana-dashboard.json variable %s: query: %v", v.Name, err)
			}
			q = obj.Query
		}
		m := labelValues.FindStringSubmatch(q)
		if m == nil {
			t.Errorf("grafana-dashboard.json variable %s: %q is not label_values(<query>, <label>)", v.Name, q)
			continue
		}
		out = append(out, query{where: fmt.Sprintf("grafana-dashboard.json variable %s", v.Name),
			expr: substitute(m[1]), label: m[2]})
	}
	return out
}

// promtool returns the path of Debian's promtool (package prometheus).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		testci.Missing(t, "promtool is not on PATH (Debian: apt-get install prometheus; scripts/deps.sh): %v", err)
	}
	return p
}

func runPromtool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), promtool(t), args...).CombinedOutput()
	return string(out), err
}

// TestPrometheusRulePassesPromtool: the PrometheusRule's spec is a valid
// rule file for `promtool check rules`: every expression parses, every
// alert's templates and durations are valid.
func TestPrometheusRulePassesPromtool(t *testing.T) {
	path := writeRules(t, t.TempDir(), "tide-rules.yaml", loadRules(t))
	if out, err := runPromtool(t, "check", "rules", path); err != nil {
		t.Errorf("promtool check rules prometheusrule.yaml (its spec): %v\n%s", err, out)
	}
}

// TestDashboardQueriesPassPromtool: every query of the dashboard, its
// Grafana variables substituted, is valid PromQL for promtool (checked as
// a recording rule each).
func TestDashboardQueriesPassPromtool(t *testing.T) {
	var g ruleGroups
	g.Groups = append(g.Groups, struct {
		Name  string           `json:"name"`
		Rules []map[string]any `json:"rules"`
	}{Name: "dashboard"})
	var legend strings.Builder
	for i, q := range dashboardQueries(t) {
		name := fmt.Sprintf("dashboard:query_%d", i)
		g.Groups[0].Rules = append(g.Groups[0].Rules, map[string]any{"record": name, "expr": q.expr})
		fmt.Fprintf(&legend, "  %s: %s\n", name, q.where)
	}
	path := writeRules(t, t.TempDir(), "dashboard-rules.yaml", g)
	if out, err := runPromtool(t, "check", "rules", path); err != nil {
		t.Errorf("promtool check rules on the dashboard's queries: %v\n%s\nrules:\n%s", err, out, legend.String())
	}
}

// TestQueriesNameExportedMetrics: every metric the dashboard and the rules
// select is a series the scaler exports, read from the registry
// internal/app serves on /metrics, and every label they match on is one of
// its labels (or job/instance, which Prometheus adds).
func TestQueriesNameExportedMetrics(t *testing.T) {
	exported := exportedSeries(t)
	qs := append(dashboardQueries(t), loadRules(t).queries(t)...)
	named := map[string]bool{}
	for _, q := range qs {
		sels, err := selectors(q.expr)
		if err != nil {
			t.Errorf("%s: %v in %q", q.where, err, q.expr)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: %q selects no metric", q.where, q.expr)
		}
		for _, s := range sels {
			labels, ok := exported[s.metric]
			if !ok {
				t.Errorf("%s: names %s, which Tide does not export", q.where, s.metric)
				continue
			}
			named[s.metric] = true
			for _, l := range append(s.labels, q.label) {
				if l != "" && !labels[l] && l != "job" && l != "instance" {
					t.Errorf("%s: %s has no label %q (it has %s)", q.where, s.metric, l, keys(labels))
				}
			}
		}
	}
	// The list: the dashboard and rules must cover these.
	for _, m := range []string{"tide_metric_value", "tide_metric_target", "tide_active", "tide_hpa_limiting_rule",
		"tide_sample_age_seconds", "tide_poll_duration_seconds_bucket", "tide_poll_errors_total",
		"tide_rpc_requests_total", "tide_rpc_duration_seconds_bucket", "tide_config_warnings",
		"tide_poll_overruns_total", "tide_streams_per_client_max", "tide_streams_per_client_limit",
		"tide_last_successful_poll_timestamp_seconds"} {
		if !named[m] {
			t.Errorf("no query names %s", m)
		}
	}
}

// recorder is a Registerer that keeps what is registered with it.
type recorder struct {
	*prometheus.Registry
	collectors []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return r.Registry.Register(c)
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// gatherAll registers what the scaler serves on /metrics
// (app.RegisterMetrics), gives every labelled vector one child (and
// metrics.PerMetric one ScaledObject metric) so that Gather shows it, and
// gathers.
func gatherAll(t *testing.T) []*dto.MetricFamily {
	t.Helper()
	rec := &recorder{Registry: prometheus.NewRegistry()}
	app.RegisterMetrics(rec)
	for _, c := range rec.collectors {
		if p, ok := c.(*metrics.PerMetric); ok { // one ScaledObject metric with every series
			p.Acquire(metrics.MetricKey{Namespace: "x", ScaledObject: "x", Metric: "x"}).Set(metrics.LagSeconds, 0)
			continue
		}
		for n := 0; ; n++ {
			if n > 16 {
				t.Fatalf("%T: no label count up to 16 gives a child", c)
			}
			values := slices.Repeat([]string{"x"}, n)
			var err error
			switch v := c.(type) {
			case *prometheus.GaugeVec:
				_, err = v.GetMetricWithLabelValues(values...)
			case *prometheus.CounterVec:
				_, err = v.GetMetricWithLabelValues(values...)
			case *prometheus.HistogramVec:
				_, err = v.GetMetricWithLabelValues(values...)
			case *prometheus.SummaryVec:
				_, err = v.GetMetricWithLabelValues(values...)
			}
			if err == nil {
				break
			}
		}
	}
	fams, err := rec.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// labelNames returns the label names of a family's series.
func labelNames(f *dto.MetricFamily) map[string]bool {
	labels := map[string]bool{}
	for _, m := range f.GetMetric() {
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = true
		}
	}
	return labels
}

// exportedSeries returns each series name the scaler exports (a
// histogram's _bucket, _sum and _count) with its label names.
func exportedSeries(t *testing.T) map[string]map[string]bool {
	t.Helper()
	fams := gatherAll(t)
	out := map[string]map[string]bool{}
	for _, f := range fams {
		labels := labelNames(f)
		with := func(extra string) map[string]bool {
			l := map[string]bool{extra: true}
			for k := range labels {
				l[k] = true
			}
			return l
		}
		name := f.GetName()
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			out[name+"_bucket"], out[name+"_sum"], out[name+"_count"] = with("le"), labels, labels
		case dto.MetricType_SUMMARY:
			out[name], out[name+"_sum"], out[name+"_count"] = with("quantile"), labels, labels
		default:
			out[name] = labels
		}
	}
	if len(out) < 20 || out["tide_metric_value"] == nil || out["go_goroutines"] == nil {
		t.Fatalf("the registry exports only %d series: %v", len(out), keys(out))
	}
	return out
}

func keys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}
