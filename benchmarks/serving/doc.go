// Package serving is a closed-loop benchmark of inference scaling
// policies: it replays request traces through a vLLM-like serving model
// (Pod, Fleet) under each policy (KEDA on vllm:num_requests_waiting,
// Knative's KPA on concurrency, llm-d's SLO-aware rule, Tide's
// latency-goal mode) and reports per trace and policy the share of
// requests within the TTFT and TPOT goals, the average replicas and the
// scale events; a prefill and a decode Deployment (pd.go), sized by one
// trigger or one per role; and one model on two GPU types (variants.go),
// sized alone or by Tide's variant split.
//
// Time is a loop variable (one second per step, the pods' iterations in
// simulated seconds within it); nothing sleeps, and a run is deterministic
// for a trace (its seed). Tide's policy is Tide's real inference trigger:
// its upstream polls the simulated pods over loopback HTTP servers.
//
// It owns the serving model, the trace format, the policies' models and
// the report. It may import Tide's pkg/hpa (the HPA model),
// pkg/sources/inference (Parse and the upstream, as a user's trigger),
// pkg/sources, pkg/metadata and internal/vllmfake (the exposition); nothing
// imports it but its command (cmd).
package serving
