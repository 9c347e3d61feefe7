package workload

import (
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/scale"
)

const validConfig = `
triggers:
- name: orders
  namespace: shop
  metricName: orders-lag
  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: orders-consumer}
  minReplicas: 0
  maxReplicas: 12
  cooldownPeriod: 5m
  metadata: {source: kafka, bootstrapServers: "kafka-0:9092,kafka-1:9092", consumerGroup: orders, topic: orders, lagThreshold: "10"}
- name: mail
  namespace: shop
  scaleTarget: {apiVersion: apps/v1, kind: StatefulSet, name: mailer}
  maxReplicas: 3
  cooldownPeriod: 90
  metadata:
    source: redis
    address: redis:6379
    listName: mail
    listLength: "20"
    metricMode: replicas
`

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(validConfig), testRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Workloads) != 2 {
		t.Fatalf("%d entries, want 2", len(c.Workloads))
	}
	o, m := c.Workloads[0], c.Workloads[1]
	if o.Metric() != "orders-lag" || o.MinReplicas != 0 || o.MaxReplicas != 12 || o.CooldownPeriod != 5*time.Minute {
		t.Errorf("orders = %+v", o)
	}
	if o.ScaleTarget != (scale.Target{Namespace: "shop", APIVersion: "apps/v1", Kind: "Deployment", Name: "orders-consumer"}) {
		t.Errorf("scaleTarget = %+v", o.ScaleTarget)
	}
	if o.Trigger() == nil || o.Trigger().Source() != "kafka" || o.Trigger().Target() != 10 {
		t.Errorf("orders not parsed as the gRPC path does: %+v", o.Trigger())
	}
	// Defaults: metric name = name, minReplicas 1, cooldown in seconds.
	if m.Metric() != "mail" || m.MinReplicas != DefaultMinReplicas || m.CooldownPeriod != 90*time.Second {
		t.Errorf("mail = %+v", m)
	}
	if m.Metadata["listLength"] != "20" || m.Trigger().Target() != 1 {
		t.Errorf("mail metadata %v, target %v (replicas mode sends target 1)", m.Metadata, m.Trigger().Target())
	}
	if err := c.validate(testRegistry().Parse); err != nil {
		t.Errorf("an accepted config does not validate again: %v", err)
	}
}

// Every rejection names the key's full path and, where there is one, the
// value as written.
func TestParseErrorsNameThePath(t *testing.T) {
	// trigger renders one trigger with fields overridden; "-" deletes.
	trigger := func(over map[string]string) string {
		f := map[string]string{
			"name": "orders", "namespace": "shop", "maxReplicas": "12",
			"scaleTarget": "{apiVersion: apps/v1, kind: Deployment, name: orders-consumer}",
			"metadata":    "{source: fake, queue: orders}",
		}
		for k, v := range over {
			f[k] = v
		}
		var b strings.Builder
		b.WriteString("- ")
		for _, k := range []string{"name", "namespace", "metricName", "scaleTarget", "minReplicas", "maxReplicas", "cooldownPeriod", "metadata", "extra"} {
			if v, ok := f[k]; ok && v != "-" {
				b.WriteString(k + ": " + v + "\n  ")
			}
		}
		return b.String() + "\n"
	}
	ok := trigger(nil)
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"max below 1", "triggers:\n" + ok + ok[:0] + trigger(map[string]string{"name": "b", "maxReplicas": "-1"}),
			[]string{"triggers[1].maxReplicas: -1: must be at least 1"}},
		{"max missing", "triggers:\n" + trigger(map[string]string{"maxReplicas": "-"}),
			[]string{"triggers[0].maxReplicas: 0: must be at least 1"}},
		{"min above max", "triggers:\n" + trigger(map[string]string{"minReplicas": "13"}),
			[]string{"triggers[0].minReplicas: 13: must not exceed maxReplicas (12)"}},
		{"min negative", "triggers:\n" + trigger(map[string]string{"minReplicas": "-2"}),
			[]string{"triggers[0].minReplicas: -2: must not be negative"}},
		{"replicas not an integer", "triggers:\n" + trigger(map[string]string{"maxReplicas": "1.5"}),
			[]string{"triggers[0].maxReplicas: 1.5: want an integer"}},
		{"replicas overflow", "triggers:\n" + trigger(map[string]string{"maxReplicas": "99999999999"}),
			[]string{"triggers[0].maxReplicas: 99999999999: must be between"}},
		{"name not a label", "triggers:\n" + trigger(map[string]string{"name": "Orders_1"}),
			[]string{`triggers[0].name: "Orders_1": a lowercase RFC 1123 label`}},
		{"name missing", "triggers:\n" + trigger(map[string]string{"name": "-"}),
			[]string{"triggers[0].name: is required"}},
		{"name not a string", "triggers:\n" + trigger(map[string]string{"name": "[a]"}),
			[]string{"triggers[0].name: a list: want a string"}},
		{"duplicate names", "triggers:\n" + ok + ok,
			[]string{`triggers[1].name: "orders": already used by triggers[0]`}},
		{"namespace", "triggers:\n" + trigger(map[string]string{"namespace": "-"}),
			[]string{"triggers[0].namespace: is required"}},
		{"metric name", "triggers:\n" + trigger(map[string]string{"metricName": `"bad/name"`}),
			[]string{`triggers[0].metricName: "bad/name": want 1-200 characters`}},
		{"scale target", "triggers:\n" + trigger(map[string]string{"scaleTarget": "{apiVersion: a/b/c, name: X}"}),
			[]string{`triggers[0].scaleTarget.apiVersion: "a/b/c": want group/version`,
				"triggers[0].scaleTarget.kind: is required", `triggers[0].scaleTarget.name: "X": a lowercase RFC 1123 subdomain`}},
		{"scale target not a mapping", "triggers:\n" + trigger(map[string]string{"scaleTarget": "orders"}),
			[]string{"triggers[0].scaleTarget: want a mapping, not string"}},
		{"unknown scale target key", "triggers:\n" + trigger(map[string]string{"scaleTarget": "{apiVersion: apps/v1, kind: Deployment, name: x, nmae: y}"}),
			[]string{`triggers[0].scaleTarget.nmae: unknown key`}},
		{"cooldown", "triggers:\n" + trigger(map[string]string{"cooldownPeriod": "5 minutes"}),
			[]string{`triggers[0].cooldownPeriod: "5 minutes": want a duration`}},
		{"cooldown negative", "triggers:\n" + trigger(map[string]string{"cooldownPeriod": "-1s"}),
			[]string{"triggers[0].cooldownPeriod: -1s: must not be negative"}},
		{"unknown trigger key", "triggers:\n" + trigger(map[string]string{"extra": "1"}),
			[]string{"triggers[0].extra: unknown key"}},
		{"unknown top-level key", "trigger: []\n", []string{"trigger: unknown key"}},
		{"triggers not a list", "triggers: {a: 1}\n", []string{"triggers: want a list, not object"}},
		{"trigger not a mapping", "triggers: [orders]\n", []string{"triggers[0]: want a mapping, not string"}},
		{"empty file", "", []string{"triggers: must list at least one trigger"}},
		{"not YAML", "triggers: [\n", []string{"not valid YAML"}},
		{"duplicate YAML key", "triggers: []\ntriggers: []\n", []string{"not valid YAML", "already set"}},
		{"metadata missing", "triggers:\n" + trigger(map[string]string{"metadata": "-"}),
			[]string{"triggers[0].metadata.source: is required"}},
		{"metadata bare number", "triggers:\n" + trigger(map[string]string{"metadata": "{source: fake, queue: q, target: 010}"}),
			[]string{`triggers[0].metadata.target: 8: want a string; quote it`}},
		{"metadata bare boolean", "triggers:\n" + trigger(map[string]string{"metadata": "{source: fake, queue: no}"}),
			[]string{`triggers[0].metadata.queue: false: want a string; quote it: YAML reads yes, no`}},
		{"name read as a boolean", "triggers:\n" + trigger(map[string]string{"name": "n"}),
			[]string{`triggers[0].name: false: want a string; quote it`}},
		{"metadata nested", "triggers:\n" + trigger(map[string]string{"metadata": "{source: fake, queue: {a: 1}}"}),
			[]string{"triggers[0].metadata.queue: a mapping: want a string"}},
		{"unknown metadata key", "triggers:\n" + trigger(map[string]string{"metadata": "{source: fake, queue: q, qeue: r}"}),
			[]string{`triggers[0].metadata.qeue: is not a key of source fake (did you mean "queue"?)`}},
		{"metadata parsed by the trigger core", "triggers:\n" + trigger(map[string]string{"metadata": "{source: fake, queue: q, target: '-3'}"}),
			[]string{`triggers[0].metadata.target: "-3": must be greater than 0`}},
		{"kafka metadata", "triggers:\n" + trigger(map[string]string{"metadata": "{source: kafka, bootstrapServers: 'k:9092', consumerGroup: g, lagThreshold: abc}"}),
			[]string{`triggers[0].metadata.lagThreshold: "abc": want a number`}},
		{"unknown source", "triggers:\n" + trigger(map[string]string{"metadata": "{source: sqs}"}),
			[]string{`triggers[0].metadata.source: "sqs": unknown source`}},
		{"shared strategy keys", "triggers:\n" + trigger(map[string]string{"metadata": "{source: fake, queue: q, metricMode: percent}"}),
			[]string{`triggers[0].metadata.metricMode: "percent": want one of raw, replicas`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), testRegistry())
			if err == nil {
				t.Fatalf("accepted:\n%s", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// All problems are reported at once, one per line, so a user fixes the
// file in one pass.
func TestParseReportsEveryError(t *testing.T) {
	_, err := Parse([]byte(`
triggers:
- {name: a, namespace: shop, maxReplicas: 0, scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: a}, metadata: {source: fake, queue: a}}
- {name: b, namespace: "", maxReplicas: 1, scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: b}, metadata: {source: fake}}
`), testRegistry())
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"triggers[0].maxReplicas", "triggers[1].namespace", "triggers[1].metadata.queue"}
	if len(lines) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w+":") {
			t.Errorf("line %d = %q, want it to start with %q", i, lines[i], w)
		}
	}
}

// FuzzConfig: no input panics, every rejection says something, and every
// accepted config validates again and names each trigger's metric.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(validConfig))
	f.Add([]byte("triggers:\n- {name: a, namespace: b, maxReplicas: 1, scaleTarget: {apiVersion: v1, kind: K, name: c}, metadata: {source: fake, queue: q, target: '1e400'}}\n"))
	f.Add([]byte("triggers: [{minReplicas: 99999999999999999999, cooldownPeriod: 1e300, metadata: {source: redis, listName: '*'}}]"))
	f.Add([]byte("triggers: [{name: a, name: b}]"))
	f.Add([]byte("{\"triggers\": [null, 1, \"x\", [], {}]}"))
	f.Add([]byte("a: &a [*a]"))
	reg := testRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, reg)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if err := c.validate(reg.Parse); err != nil {
			t.Fatalf("accepted config fails to validate again: %v", err)
		}
		for i := range c.Workloads {
			w := &c.Workloads[i]
			if w.Trigger() == nil || w.Metric() == "" || w.MaxReplicas < 1 || w.MinReplicas > w.MaxReplicas ||
				w.ScaleTarget.Namespace != w.Namespace {
				t.Fatalf("accepted an incomplete entry %+v", w)
			}
		}
	})
}

func TestNodeHintsDefault(t *testing.T) {
	for _, tc := range []struct {
		extra string
		want  time.Duration
		err   string
	}{
		{"", 0, ""},
		{"  nodeHints: true\n", DefaultNodeLeadTime, ""},
		{"  nodeHints: false\n", 0, ""},
		{"  nodeHints: true\n  nodeLeadTime: 90s\n", 90 * time.Second, ""},
		{"  nodeLeadTime: 2m\n", 2 * time.Minute, ""},
		{"  nodeHints: sure\n", 0, "triggers[0].nodeHints"},
		{"  nodeLeadTime: 2h\n", 0, "triggers[0].nodeLeadTime"},
	} {
		doc := "triggers:\n- name: q\n  namespace: ns\n  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: q}\n  maxReplicas: 3\n" +
			tc.extra + "  metadata: {source: redis, address: \"r:6379\", listName: jobs}\n"
		c, err := Parse([]byte(doc), testRegistry())
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want one naming %s", tc.extra, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.extra, err)
			continue
		}
		if got := c.Workloads[0].NodeLeadTime; got != tc.want {
			t.Errorf("%q: nodeLeadTime %v, want %v", tc.extra, got, tc.want)
		}
	}
}
