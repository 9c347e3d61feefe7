package inference

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// The Gateway API Inference Extension's endpoint picker (EPP) signals a
// scrape trigger reads from eppTargets, the EPP replicas' /metrics.
const (
	eppFlowQueue = iota
	eppInflightTokens
	eppPoolQueue
	eppPoolKV
	eppReadyPods
	eppRequests // a counter: read as a rate
	numEPP
)

// eppKeys: name, metric key, default and how the EPP replicas combine.
//
// Sum where each replica holds its own share: the flow-control queue and
// llm-d's in-flight tokens are per process (each replica queues and
// accounts the requests it received), and each replica counts the requests
// it routed. Max where every replica reports the same pool: each computes
// the pool averages and ready pods from its own scrape of the same pods, so
// a sum would count the pool once per replica; the max is the most loaded
// (freshest) view, which errs towards scaling up.
var eppKeys = [numEPP]struct {
	name, metricKey, def string
	sum                  bool
}{
	eppFlowQueue:      {"flowControlQueue", "eppQueueMetric", "inference_extension_flow_control_queue_size", true},
	eppInflightTokens: {"inflightTokens", "eppInflightTokensMetric", "llm_d_epp_inflight_tokens", true},
	eppPoolQueue:      {"poolAverageQueue", "eppPoolQueueMetric", "inference_pool_average_queue_size", false},
	eppPoolKV:         {"poolAverageKVCache", "eppPoolKVCacheMetric", "inference_pool_average_kv_cache_utilization", false},
	eppReadyPods:      {"poolReadyPods", "eppReadyPodsMetric", "inference_pool_ready_pods", false},
	eppRequests:       {"requests", "eppRequestCounter", "inference_objective_request_total", true},
}

// eppKeyNames lists the keys of the EPP signals, eppTargets included.
func eppKeyNames() []string {
	ks := []string{"eppTargets"}
	for _, k := range eppKeys {
		ks = append(ks, k.metricKey)
	}
	return ks
}

// eppSpec is what a scrape query reads of the EPP replicas; no targets:
// no EPP.
type eppSpec struct {
	targets []string // URLs, sorted
	metrics [numEPP]string
}

func parseEPP(md metadata.Metadata, pol sources.Policy) (eppSpec, error) {
	var e eppSpec
	for i, k := range eppKeys {
		e.metrics[i] = md.String(k.metricKey, k.def)
		if !metricNameOK.MatchString(e.metrics[i]) {
			return e, metadata.Invalid(k.metricKey, e.metrics[i], "not a Prometheus metric name")
		}
		if md.Has(k.metricKey) && !md.Has("eppTargets") {
			return e, metadata.Invalid(k.metricKey, e.metrics[i], "needs eppTargets (the EPP replicas' metrics URLs)")
		}
	}
	if !md.Has("eppTargets") {
		return e, nil
	}
	for _, raw := range md.List("eppTargets") {
		u, err := httpURL("eppTargets", raw)
		if err != nil {
			return e, err
		}
		if err := pol.CheckUpstream("eppTargets", hostPort(u)); err != nil {
			return e, err
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/metrics"
		}
		e.targets = append(e.targets, u.String())
	}
	if len(e.targets) == 0 {
		return e, metadata.Invalid("eppTargets", shown(md["eppTargets"]), "lists no URL")
	}
	slices.Sort(e.targets)
	e.targets = slices.Compact(e.targets)
	return e, nil
}

func (e eppSpec) key() string {
	if len(e.targets) == 0 {
		return ""
	}
	return fmt.Sprintf("|epp=%s|eppMetrics=%q", strings.Join(e.targets, ","), e.metrics)
}

func (e eppSpec) wanted() map[string]bool {
	w := map[string]bool{}
	for _, m := range e.metrics {
		w[m] = true
	}
	if r := e.metrics[eppRequests]; !strings.HasSuffix(r, "_total") {
		w[r+"_total"] = true
	}
	return w
}

// eppReading is one poll's view of the EPP replicas, combined.
type eppReading struct {
	values   [numEPP]float64 // eppRequests: unused (per-replica counters below)
	has      [numEPP]bool    // some replica exposes the series
	counters map[string]float64
	read     int      // replicas that answered
	failed   []string // errors of replicas that did not
}

// combineEPP reads each replica's signals (summed over its series) and
// combines the replicas per eppKeys: sum or max.
func combineEPP(rs []reading, e *eppSpec) eppReading {
	out := eppReading{counters: map[string]float64{}}
	for _, r := range rs {
		if r.err != nil {
			out.failed = append(out.failed, r.err.Error())
			continue
		}
		out.read++
		for i, name := range e.metrics {
			v, n := 0.0, 0
			for _, nm := range []string{name, name + "_total"} {
				for _, s := range r.expo[nm] {
					v += s.value
					n++
				}
				if n > 0 || i != eppRequests {
					break
				}
			}
			if n == 0 {
				continue
			}
			switch {
			case i == eppRequests:
				out.counters[r.target.url] = v
			case !out.has[i]:
				out.values[i] = v
			case eppKeys[i].sum:
				out.values[i] += v
			default:
				out.values[i] = max(out.values[i], v)
			}
			out.has[i] = true
		}
	}
	return out
}

// eppState keeps the EPP request counter's rate window.
type eppState struct {
	requests *counterWindow
}

// observe folds a reading in and returns its wake demand: the flow-control
// queue plus the routed requests/s over the panic window, and whether any
// signal that exists at zero replicas was read (known).
func (s *eppState) observe(now time.Time, r eppReading, panicW time.Duration, since time.Time) (demand float64, known bool) {
	for url, v := range r.counters {
		s.requests.observe(now, url, v)
	}
	s.requests.forget(now.Add(-forgetPodsAfter))
	if r.has[eppFlowQueue] {
		demand += r.values[eppFlowQueue]
	}
	if r.has[eppRequests] {
		demand += s.requests.ring.rate(now, panicW, since)
	}
	return demand, r.has[eppFlowQueue] || r.has[eppRequests]
}

// parts renders the EPP signals in two parts (explain shows 16 parts):
// epp/queue, the per-replica signals summed, valued by the flow-control
// queue, and epp/pool, the pool-wide ones maxed, valued by the ready pods.
// A series no replica exposes is unknown (NaN or "unknown" with the key),
// never 0.
func (s *eppState) parts(now time.Time, r eppReading, e *eppSpec, stable time.Duration, since time.Time) []sources.Part {
	if r.read == 0 {
		info := fmt.Sprintf("unknown: no EPP replica answered (%d failed)", len(r.failed))
		return []sources.Part{{Name: "epp/queue", Value: math.NaN(), Info: info}, {Name: "epp/pool", Value: math.NaN(), Info: info}}
	}
	field := func(i int) string {
		switch {
		case !r.has[i]:
			return fmt.Sprintf("%s=unknown (%s %s absent)", eppKeys[i].name, eppKeys[i].metricKey, e.metrics[i])
		case i == eppRequests:
			return fmt.Sprintf("%s=%.4g/s", eppKeys[i].name, s.requests.ring.rate(now, stable, since))
		}
		return fmt.Sprintf("%s=%.4g", eppKeys[i].name, r.values[i])
	}
	value := func(i int) float64 {
		if !r.has[i] {
			return math.NaN()
		}
		return r.values[i]
	}
	q := fmt.Sprintf("%s %s %s: sum over %d EPP replicas", field(eppFlowQueue), field(eppInflightTokens), field(eppRequests), r.read)
	if len(r.failed) > 0 {
		q += fmt.Sprintf("; %d failed: a lower bound", len(r.failed))
	}
	pool := fmt.Sprintf("%s %s %s: max over %d EPP replicas", field(eppReadyPods), field(eppPoolQueue), field(eppPoolKV), r.read)
	return []sources.Part{{Name: "epp/queue", Value: value(eppFlowQueue), Info: q}, {Name: "epp/pool", Value: value(eppReadyPods), Info: pool}}
}
