// Package vllmfake writes the part of a vLLM server's Prometheus exposition
// that inference scaling reads, for demos and tests that stand in for vLLM
// pods with loopback HTTP servers.
package vllmfake

import (
	"fmt"
	"io"
	"net/http"
)

// State is what one fake vLLM pod reports.
type State struct {
	Model   string  // model_name label (default "m")
	Success float64 // vllm:request_success_total{finished_reason="stop"}
	Waiting float64 // vllm:num_requests_waiting
	Running float64 // vllm:num_requests_running
	KVCache float64 // vllm:kv_cache_usage_perc, a fraction
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
	_, err := io.WriteString(w,
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
