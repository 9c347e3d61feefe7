package inference

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// stubDiscovery is a Discovery whose Service lists fixed endpoints.
type stubDiscovery struct{ eps []ServiceEndpoint }

func (d *stubDiscovery) Follow(_, _ string) (Service, error) { return d, nil }
func (d *stubDiscovery) Endpoints(context.Context) ([]ServiceEndpoint, error) {
	return d.eps, nil
}
func (d *stubDiscovery) Close() error { return nil }

var base = metadata.Metadata{"source": "inference", "targets": "http://10.0.0.1:8000", "targetRequestRate": "10"}

func with(kv ...string) metadata.Metadata {
	md := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(md, kv[i])
			continue
		}
		md[kv[i]] = kv[i+1]
	}
	return md
}

func fullEnv() Env {
	return Env{Push: NewStore(StoreOptions{Now: func() time.Time { return t0 }}), Discovery: &stubDiscovery{}}
}

func TestParseDefaults(t *testing.T) {
	tr := parseOK(t, with(), Env{})
	q := tr.Query().(*scrapeQuery)
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", tr.Mode(), ModeScrape},
		{"Target", tr.Target(), 1.0},
		{"MetricName", tr.MetricName(), "inference-10.0.0.1-8000"},
		{"target URL gets /metrics", q.targets.static[0], "http://10.0.0.1:8000/metrics"},
		{"scrapeInterval", q.targets.interval, time.Second},
		{"Endpoint.Interval", q.Upstream().Interval, time.Second},
		{"scrapeTimeout", q.targets.timeout, 800 * time.Millisecond},
		{"scrapeConcurrency", q.targets.concurrency, 16},
		{"requestCounter", q.sig.metrics[sigRate], "vllm:request_success_total"},
		{"waitingMetric", q.sig.metrics[sigWaiting], "vllm:num_requests_waiting"},
		{"runningMetric", q.sig.metrics[sigRunning], "vllm:num_requests_running"},
		{"kvCacheMetric", q.sig.metrics[sigKV], "vllm:kv_cache_usage_perc"},
		{"targetRequestRate", q.sig.targets[sigRate], 10.0},
		{"targetWaiting unset", q.sig.targets[sigWaiting], 0.0},
		{"stableWindow", q.win.stable, 60 * time.Second},
		{"panic window", q.win.panic, 6 * time.Second},
		{"panicThreshold", q.win.panicThreshold, 2.0},
		{"maxScaleUpRate", q.win.maxUpRate, 1000.0},
		{"maxScaleDownRate", q.win.maxDownRate, 2.0},
		{"scaleDownDelay", q.win.scaleDownDelay, time.Duration(0)},
		{"scaleToZeroGracePeriod", q.win.zeroGrace, 30 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	p := parseOK(t, metadata.Metadata{"mode": "prometheus", "serverAddress": "http://prom:9090", "query": "sum(x)", "threshold": "5"}, Env{})
	pq := p.Query().(*promQuery)
	if p.Target() != 5 || p.activation != 0 || !pq.ignoreNull || pq.timeout != 3*time.Second || p.MetricName() != "prometheus" {
		t.Errorf("prometheus defaults: %+v %+v", p, pq)
	}
}

func TestParseValues(t *testing.T) {
	env := fullEnv()
	env.Discovery = &stubDiscovery{}
	tests := []struct {
		name  string
		md    metadata.Metadata
		check func(*Trigger) bool
	}{
		{"durations as numbers are seconds", with("stableWindow", "120", "scaleDownDelay", "30", "panicWindowPercentage", "5"),
			func(tr *Trigger) bool {
				w := tr.query.(*scrapeQuery).win
				return w.stable == 2*time.Minute && w.scaleDownDelay == 30*time.Second && w.panic == 6*time.Second
			}},
		{"kafka-style timeout is milliseconds", metadata.Metadata{"mode": "prometheus", "serverAddress": "https://p", "query": "q", "threshold": "1", "timeout": "1500"},
			func(tr *Trigger) bool { return tr.query.(*promQuery).timeout == 1500*time.Millisecond }},
		{"a 1 % panic window is one bucket", with("stableWindow", "6s", "panicWindowPercentage", "1"),
			func(tr *Trigger) bool { return tr.query.(*scrapeQuery).win.panic == time.Second }},
		{"modelName becomes a label match", with("modelName", "llama", "labelSelector", "engine=0"),
			func(tr *Trigger) bool {
				return selectorString(tr.query.(*scrapeQuery).sig.selector) == `engine="0",model_name="llama"` && tr.MetricName() == "inference-llama"
			}},
		{"service discovery", with("targets", "<unset>", "service", "vllm", "namespace", "ai", "port", "http"),
			func(tr *Trigger) bool {
				q := tr.query.(*scrapeQuery)
				return q.Upstream().Name == "scrape://ai/vllm:http/metrics" && tr.MetricName() == "inference-ai-vllm"
			}},
		{"push mode", metadata.Metadata{"mode": "push", "model": "Llama-3/8B", "targetRequestRate": "2"},
			func(tr *Trigger) bool {
				return tr.Mode() == ModePush && tr.MetricName() == "inference-llama-3-8b" && tr.Target() == 1
			}},
		{"scrape waking on pushes", with("model", "m"), func(tr *Trigger) bool { return tr.query.(*scrapeQuery).model == "m" }},
		{"custom names", with("waitingMetric", "tgi_queue_size", "targetWaiting", "3", "targetRequestRate", "<unset>"),
			func(tr *Trigger) bool {
				q := tr.query.(*scrapeQuery)
				return q.sig.metrics[sigWaiting] == "tgi_queue_size" && q.sig.targets[sigRate] == 0
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tr := parseOK(t, tt.md, env); !tt.check(tr) {
				t.Errorf("unexpected trigger %+v", tr.query)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		md    metadata.Metadata
		env   Env
		key   string
		value string
	}{
		{"mode", with("mode", "magic"), Env{}, "mode", "magic"},
		{"no targets", with("targets", "<unset>"), Env{}, "targets", ""},
		{"both targets and service", with("service", "s", "namespace", "n"), fullEnv(), "targets", ""},
		{"target not a URL", with("targets", "10.0.0.1:8000"), Env{}, "targets", "10.0.0.1:8000"},
		{"target with credentials", with("targets", "http://u:p@h/metrics"), Env{}, "targets", ""},
		{"no signal target", with("targetRequestRate", "<unset>"), Env{}, "targetRequestRate", ""},
		{"zero target", with("targetWaiting", "0"), Env{}, "targetWaiting", "0"},
		{"kv target above 1", with("targetKVCache", "80"), Env{}, "targetKVCache", "80"},
		{"bad metric name", with("requestCounter", "vllm request"), Env{}, "requestCounter", "vllm request"},
		{"bad selector", with("labelSelector", "model_name~=x"), Env{}, "labelSelector", "model_name~=x"},
		{"duplicate selector label", with("labelSelector", "a=1,a=2"), Env{}, "labelSelector", "a=2"},
		{"modelName contradicts selector", with("labelSelector", "model_name=a", "modelName", "b"), Env{}, "modelName", "b"},
		{"stableWindow too short", with("stableWindow", "5s"), Env{}, "stableWindow", "5s"},
		{"stableWindow garbage", with("stableWindow", "soon"), Env{}, "stableWindow", "soon"},
		{"panicThreshold at 100 %", with("panicThreshold", "100"), Env{}, "panicThreshold", "100"},
		{"maxScaleDownRate 1", with("maxScaleDownRate", "1"), Env{}, "maxScaleDownRate", "1"},
		{"negative delay", with("scaleDownDelay", "-1s"), Env{}, "scaleDownDelay", "-1s"},
		{"timeout above interval", with("scrapeInterval", "1s", "scrapeTimeout", "2s"), Env{}, "scrapeTimeout", "2s"},
		{"concurrency 0", with("scrapeConcurrency", "0"), Env{}, "scrapeConcurrency", "0"},
		{"path", with("path", "metrics"), Env{}, "path", "metrics"},
		{"service without namespace", with("targets", "<unset>", "service", "vllm"), fullEnv(), "namespace", ""},
		{"bad service name", with("targets", "<unset>", "service", "VLLM_svc", "namespace", "n"), fullEnv(), "service", "VLLM_svc"},
		{"bad port", with("targets", "<unset>", "service", "s", "namespace", "n", "port", "99999"), fullEnv(), "port", "99999"},
		{"no discovery in this process", with("targets", "<unset>", "service", "s", "namespace", "n"), Env{}, "service", "s"},
		{"namespace with static targets", with("namespace", "n"), Env{}, "targets", ""},
		{"model without push store", with("model", "m"), Env{}, "model", "m"},
		{"prometheus key in scrape mode", with("query", "up"), Env{}, "query", "up"},
		{"scrape key in prometheus mode", metadata.Metadata{"mode": "prometheus", "serverAddress": "http://p", "query": "q", "threshold": "1", "targets": "http://x"}, Env{}, "targets", "http://x"},
		{"no serverAddress", metadata.Metadata{"mode": "prometheus", "query": "q", "threshold": "1"}, Env{}, "serverAddress", ""},
		{"bad serverAddress", metadata.Metadata{"mode": "prometheus", "serverAddress": "prom:9090", "query": "q", "threshold": "1"}, Env{}, "serverAddress", "prom:9090"},
		{"no query", metadata.Metadata{"mode": "prometheus", "serverAddress": "http://p", "threshold": "1"}, Env{}, "query", ""},
		{"no threshold", metadata.Metadata{"mode": "prometheus", "serverAddress": "http://p", "query": "q"}, Env{}, "threshold", ""},
		{"negative activation", metadata.Metadata{"mode": "prometheus", "serverAddress": "http://p", "query": "q", "threshold": "1", "activationThreshold": "-1"}, Env{}, "activationThreshold", "-1"},
		{"ignoreNullValues", metadata.Metadata{"mode": "prometheus", "serverAddress": "http://p", "query": "q", "threshold": "1", "ignoreNullValues": "perhaps"}, Env{}, "ignoreNullValues", "perhaps"},
		{"push without store", metadata.Metadata{"mode": "push", "model": "m", "targetRequestRate": "1"}, Env{}, "mode", "push"},
		{"push without model", metadata.Metadata{"mode": "push", "targetRequestRate": "1"}, fullEnv(), "model", ""},
		{"push without target", metadata.Metadata{"mode": "push", "model": "m"}, fullEnv(), "targetRequestRate", ""},
		{"push with a gauge target", metadata.Metadata{"mode": "push", "model": "m", "targetRequestRate": "1", "targetWaiting": "2"}, fullEnv(), "targetWaiting", "2"},
		{"model with control characters", metadata.Metadata{"mode": "push", "model": "m\x00", "targetRequestRate": "1"}, fullEnv(), "model", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Parse(tt.md, tt.env)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", tr)
			}
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *metadata.ConfigError", err, err)
			}
			if ce.Key != tt.key || !strings.Contains(err.Error(), `"`+tt.key+`"`) {
				t.Errorf("error %q names key %q, want %q", err, ce.Key, tt.key)
			}
			if tt.value != "" && !strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q lacks the bad value %q", err, tt.value)
			}
		})
	}
}

// Triggers that differ only in what shapes the decision do not share a
// reading; the same pods always share the upstream.
func TestQueryKeys(t *testing.T) {
	ref := parseOK(t, with("targets", "http://b:1,http://a:1"), Env{}).Query()
	same := parseOK(t, with("targets", "http://a:1/metrics, http://b:1", "metricName", "x"), Env{}).Query()
	if same.Key() != ref.Key() {
		t.Errorf("key %q differs from %q", same.Key(), ref.Key())
	}
	for _, md := range []metadata.Metadata{
		with("targets", "http://a:1,http://b:1", "targetRequestRate", "11"),
		with("targets", "http://a:1,http://b:1", "stableWindow", "90s"),
		with("targets", "http://a:1,http://b:1", "modelName", "m"),
		with("targets", "http://a:1,http://b:1", "requestCounter", "x_total"),
		with("targets", "http://a:1,http://b:1", "scaleToZeroGracePeriod", "0"),
	} {
		q := parseOK(t, md, Env{}).Query()
		if q.Key() == ref.Key() || q.Upstream().Key != ref.Upstream().Key {
			t.Errorf("%v: key %q / upstream %q", md, q.Key(), q.Upstream().Key)
		}
	}
	other := parseOK(t, with("targets", "http://a:1,http://b:1", "scrapeTimeout", "500ms"), Env{}).Query()
	if other.Upstream().Key == ref.Upstream().Key {
		t.Error("a different scrape timeout must not share the scraper")
	}
}

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("model", 20)
	a, b := sources.MetricName("inference-"+long+"1"), sources.MetricName("inference-"+long+"2")
	if len(a) != 60 || a == b || a[:51] != b[:51] {
		t.Errorf("long names %q, %q", a, b)
	}
	if got := sources.MetricName("inference-Meta/Llama_3"); got != "inference-meta-llama-3" {
		t.Errorf("sanitizeName = %q", got)
	}
}

// TestURLCredentialsNeverEchoed: a rejected URL's password is not in the
// error, whichever key holds it.
func TestURLCredentialsNeverEchoed(t *testing.T) {
	const secret = "s3cr3t-marker"
	cases := []struct {
		name string
		md   map[string]string
	}{
		{name: "serverAddress", md: map[string]string{"serverAddress": "http://alice:" + secret + "@prom:9090", "query": "sum(x)", "threshold": "1"}},
		{name: "targets", md: map[string]string{"targets": "http://a:9000/metrics,http://bob:" + secret + "@b:9000/metrics"}},
		{name: "targets with service", md: map[string]string{"targets": "http://bob:" + secret + "@b:9000/metrics", "service": "vllm"}},
		{name: "unparsable", md: map[string]string{"targets": "http://bob:" + secret + "@b:9000/%zz"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(metadata.Metadata(tc.md), Env{})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error quotes the password: %v", err)
			}
		})
	}
}
