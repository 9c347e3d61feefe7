package inference

import (
	"errors"
	"math"
	"regexp"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// FuzzParse: no metadata panics Parse; every error is a ConfigError; every
// accepted trigger is usable: a valid metric name, a positive finite
// target, a deterministic key, sane windows, and an Evaluate that does not
// panic.
func FuzzParse(f *testing.F) {
	f.Add("scrape", "http://10.0.0.1:8000,https://h/metrics", "", "", "10", "", "60s", "10", "200", "k=v,model_name=m", "1s", "800ms")
	f.Add("scrape", "", "vllm", "ai", "", "5", "6", "1", "110", "", "100ms", "10ms")
	f.Add("prometheus", "http://prom:9090", "sum(x)", "", "0.5", "1", "3000", "", "", "", "", "")
	f.Add("push", "", "", "", "2", "", "1h", "100", "1000", "", "", "")
	f.Add("PUSH", "ftp://x", "a=b", "-", "-1", "NaN", "1e400", "0", "99", "=,", "0s", "2s")
	name := regexp.MustCompile(`^[a-z0-9.-]{1,60}$`)
	env := Env{Push: NewStore(StoreOptions{}), Discovery: &stubDiscovery{}}
	f.Fuzz(func(t *testing.T, mode, targets, service, namespace, rate, waiting, window, pct, threshold, selector, interval, timeout string) {
		md := metadata.Metadata{
			"mode": mode, "targets": targets, "service": service, "namespace": namespace,
			"targetRequestRate": rate, "targetWaiting": waiting, "stableWindow": window,
			"panicWindowPercentage": pct, "panicThreshold": threshold, "labelSelector": selector,
			"scrapeInterval": interval, "scrapeTimeout": timeout,
			// prometheus and push read these; the other modes reject them if set
			"serverAddress": targets, "query": service, "threshold": rate, "model": namespace,
		}
		for k, v := range md {
			if v == "" {
				delete(md, k)
			}
		}
		tr, err := Parse(md, env)
		if err != nil {
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a ConfigError", err, err)
			}
			return
		}
		if tr.MetricName() != "prometheus" && !name.MatchString(tr.MetricName()) {
			t.Errorf("metric name %q", tr.MetricName())
		}
		if tg := tr.Target(); !(tg > 0) || math.IsInf(tg, 0) {
			t.Errorf("target %v", tg)
		}
		again, err := Parse(md, env)
		if err != nil || again.Query().Key() != tr.Query().Key() {
			t.Errorf("second parse: %v, key %q vs %q", err, again.Query().Key(), tr.Query().Key())
		}
		if q, ok := tr.Query().(*scrapeQuery); ok {
			w := q.win
			if w.panic < 1e9 || w.panic > w.stable || w.panicThreshold <= 1 || q.targets.timeout > q.targets.interval {
				t.Errorf("windows %+v, scrape %s/%s", w, q.targets.interval, q.targets.timeout)
			}
		}
		_ = tr.Evaluate(sources.Sample{Value: 1e18, Activity: 1e18, Parts: []sources.Part{{Name: "decision"}}})
	})
}
