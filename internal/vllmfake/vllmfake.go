// Package vllmfake writes the part of a vLLM server's Prometheus exposition
// that inference scaling reads, for demos and tests that stand in for vLLM
// pods with loopback HTTP servers.
package vllmfake

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// State is what one fake vLLM pod reports.
type State struct {
	Model   string  // model_name label (default "m")
	Success float64 // vllm:request_success_total{finished_reason="stop"}
	Waiting float64 // vllm:num_requests_waiting
	Running float64 // vllm:num_requests_running
	KVCache float64 // vllm:kv_cache_usage_perc, a fraction

	PromptTokens     float64 // vllm:prompt_tokens_total
	GenerationTokens float64 // vllm:generation_tokens_total
	Preemptions      float64 // vllm:num_preemptions_total
	// Histograms by name ("vllm:time_to_first_token_seconds"): written as
	// <name>_bucket{le}, _sum and _count; none when nil.
	Histograms map[string]Histogram
}

// Histogram is one cumulative histogram: Counts[i] observations <=
// Bounds[i]; Count is the +Inf bucket (the total), Sum their sum.
type Histogram struct {
	Bounds, Counts []float64
	Count, Sum     float64
}

// Observe adds one observation v.
func (h *Histogram) Observe(v float64) {
	for i, b := range h.Bounds {
		if v <= b {
			h.Counts[i]++
		}
	}
	h.Count++
	h.Sum += v
}

// NewHistogram is an empty histogram with these bucket bounds.
func NewHistogram(bounds ...float64) Histogram {
	return Histogram{Bounds: bounds, Counts: make([]float64, len(bounds))}
}

// writeHistogram writes h as a Prometheus text histogram with labels lb.
func writeHistogram(b *strings.Builder, name, lb string, h Histogram) {
	fmt.Fprintf(b, "# HELP %s Histogram.\n# TYPE %s histogram\n", name, name)
	for i, ub := range h.Bounds {
		fmt.Fprintf(b, "%s_bucket{%s,le=%q} %g\n", name, lb, strconv.FormatFloat(ub, 'g', -1, 64), h.Counts[i])
	}
	fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %g\n%s_sum{%s} %g\n%s_count{%s} %g\n", name, lb, h.Count, name, lb, h.Sum, name, lb, h.Count)
}

func counter(b *strings.Builder, name, lb string, v float64) {
	fmt.Fprintf(b, "# HELP %s Counter.\n# TYPE %s counter\n%s{%s} %g\n", name, name, name, lb, v)
}

// ContentType is the Prometheus text format's, as prometheus_client sends it.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Write writes st in the Prometheus text format with vLLM's metric names,
// HELP and TYPE lines and labels.
func Write(w io.Writer, st State) error {
	model := st.Model
	if model == "" {
		model = "m"
	}
	lb := fmt.Sprintf(`engine="0",model_name=%q`, model)
	gauge := func(name, help string, v float64) string {
		return fmt.Sprintf("# HELP %s %s\n# TYPE %s gauge\n%s{%s} %g\n", name, help, name, name, lb, v)
	}
	var b strings.Builder
	counter(&b, "vllm:prompt_tokens_total", lb, st.PromptTokens)
	counter(&b, "vllm:generation_tokens_total", lb, st.GenerationTokens)
	counter(&b, "vllm:num_preemptions_total", lb, st.Preemptions)
	for _, name := range slices.Sorted(maps.Keys(st.Histograms)) {
		writeHistogram(&b, name, lb, st.Histograms[name])
	}
	_, err := io.WriteString(w, b.String()+
		gauge("vllm:num_requests_running", "Number of requests in model execution batches.", st.Running)+
		gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", st.Waiting)+
		gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", st.KVCache)+
		"# HELP vllm:request_success_total Count of successfully processed requests.\n"+
		"# TYPE vllm:request_success_total counter\n"+
		fmt.Sprintf("vllm:request_success_total{%s,finished_reason=\"stop\"} %g\n", lb, st.Success)+
		fmt.Sprintf("vllm:request_success_total{%s,finished_reason=\"length\"} 0\n", lb)+
		fmt.Sprintf("vllm:request_success_total{%s,finished_reason=\"abort\"} 0\n", lb))
	return err
}

// Serve answers a scrape with st.
func Serve(w http.ResponseWriter, st State) {
	w.Header().Set("Content-Type", ContentType)
	Write(w, st) //nolint:errcheck // the scraper sees a short body
}

// EPP is what one replica of a Gateway API Inference Extension endpoint
// picker reports. A nil pointer field is a series the replica does not
// expose (the flow-control queue is absent while the pool has no pods).
type EPP struct {
	Pool           string   // the name label (default "pool")
	FlowQueue      *float64 // inference_extension_flow_control_queue_size
	InflightTokens *float64 // llm_d_epp_inflight_tokens
	PoolQueue      *float64 // inference_pool_average_queue_size
	PoolKVCache    *float64 // inference_pool_average_kv_cache_utilization
	ReadyPods      *float64 // inference_pool_ready_pods
	Requests       *float64 // inference_objective_request_total
}

// WriteEPP writes e in the Prometheus text format.
func WriteEPP(w io.Writer, e EPP) error {
	pool := e.Pool
	if pool == "" {
		pool = "pool"
	}
	var b strings.Builder
	gauge := func(name string, v *float64) {
		if v != nil {
			fmt.Fprintf(&b, "# HELP %s Gauge.\n# TYPE %s gauge\n%s{name=%q} %g\n", name, name, name, pool, *v)
		}
	}
	gauge("inference_extension_flow_control_queue_size", e.FlowQueue)
	gauge("llm_d_epp_inflight_tokens", e.InflightTokens)
	gauge("inference_pool_average_queue_size", e.PoolQueue)
	gauge("inference_pool_average_kv_cache_utilization", e.PoolKVCache)
	gauge("inference_pool_ready_pods", e.ReadyPods)
	if e.Requests != nil {
		counter(&b, "inference_objective_request_total", `model_name="m",target_model_name="m"`, *e.Requests)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ServeEPP answers a scrape with e.
func ServeEPP(w http.ResponseWriter, e EPP) {
	w.Header().Set("Content-Type", ContentType)
	WriteEPP(w, e) //nolint:errcheck // the scraper sees a short body
}
