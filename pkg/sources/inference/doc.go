// Package inference measures inference load for Tide: request rate, queue
// and running gauges and KV-cache use of vLLM-style model servers, decided
// on with Knative KPA windows, and waking a model at zero replicas from
// request counts a gateway pushes.
//
// A trigger (`source: inference`) reads in one of three modes (key mode):
//
//   - scrape (default): the serving pods' Prometheus endpoints, every
//     scrapeInterval (1 s, the upstream's own Endpoint.Interval), each with
//     scrapeTimeout (800 ms), all pods of a trigger concurrently with at
//     most scrapeConcurrency in flight. The pods are static targets (URLs)
//     or a Kubernetes Service's ready endpoints (EndpointSlices, followed
//     with informers by package discovery behind the Discovery interface,
//     so this package never imports Kubernetes). Expositions are parsed
//     with prometheus/common/expfmt by Content-Type (text, OpenMetrics 1.0,
//     delimited protobuf).
//   - prometheus: an instant query against a Prometheus server's HTTP API
//     (client_golang's api/prometheus/v1) with the keys and rules of KEDA's
//     prometheus scaler: the value is the query result, the target is
//     threshold.
//   - push: the request counts a gateway POSTs to /v1/push per model
//     (Store.Handler, bearer-token authenticated).
//
// # Several scaler replicas
//
// KEDA round-robins over the replicas behind the headless Service, so they
// must agree. Scrape mode agrees by construction: every replica reads the
// same pods' own series and learns the same curve from them
// (TestReplicasLearnTheSameCapacity). Pushed counts are held in memory per
// replica, so a Forwarder (peers.go) sends each push a replica accepts to
// its peers (PeerSource: ServicePeers, the ready endpoints of the scaler's
// own Service through Discovery minus its pod IP, or StaticPeers) on
// POST /v1/push/forwarded (ForwardedHandler, the same bearer token: every
// replica of a Deployment holds it, and a second secret would guard
// nothing a push-token holder cannot already do by pushing). Entries keep
// their original timestamp, so all replicas fill the same 1 s buckets, and
// a forwarded push is stored, never forwarded again
// (TestForwardKeepsTimestampsAndNeverLoops). Each peer has a bounded queue
// merged per (model, second), its own sender, bounded batches and a
// per-request timeout; Forward only takes locks, so a slow or dead peer
// never delays a gateway, and every entry not delivered is counted by
// reason (TestForwardSlowPeerNeverBlocksPush). test/kedacompat
// TestReplicasAgreeUnderRoundRobin shows two replicas behind KEDA's own
// round_robin client answering alike with a gateway pushing to one.
//
// # The value sent to KEDA (scrape and push mode)
//
// The upstream runs the KPA on every poll (window.go, kpa.go, state.go),
// where the data is, so the decision depends only on what the pods (or the
// pushes) reported and every scaler replica computes the same one. The
// Sample's Value is the desired replica count and the trigger's target is
// 1 (AverageValue): the HPA's ceil(value / 1) is the KPA's decision, with
// the max over signals, panic mode, rate limits, scale-down delay and the
// anti-flap check already applied. A demand normalised to one signal's
// target could not carry a max over signals with different units.
//
// Two HPA rules still sit between the value and the replica count. Its
// tolerance ignores ratios within 10 % of 1: at 10 replicas a decision of
// 11 (ratio 1.1) is not acted on, and no value can force it, since the
// value for 11 replicas is 11. Set the HPA behavior's per-direction
// tolerance to 0 (Kubernetes >= 1.33) for exact decisions. And its default
// 300 s scale-down stabilization comes on top of the stable window: set
// scaleDown.stabilizationWindowSeconds to 0, the windows are here. The
// metric type must be AverageValue (KEDA's default): Value would multiply
// the decision by the current replica count.
//
// # Activation and scale to zero
//
// Sample.Activity is the recent demand (requests/s over the panic window +
// waiting + running + pushed requests/s), at least 1 while active. A
// workload stays active until it has seen no traffic for stableWindow +
// scaleToZeroGracePeriod; activation is immediate on any pushed request or
// any non-zero signal, and the engine's watchers push it through
// StreamIsActive within one scrape. A scaler that starts while pods are
// ready holds them active for a full window, as it starts in panic: it
// cannot know they were idle.
//
// # Observed signals and the EPP
//
// A scrape trigger also reads vLLM's latency histograms as windowed
// percentiles (histogram.go: bucket increases per second summed over pods,
// interpolated like Prometheus' histogram_quantile; read every histEvery,
// 5 s, for their parsing cost), its token and
// preemption counters as rates (signals.go), and, with eppTargets, the
// Gateway API Inference Extension endpoint picker's replicas (epp.go: per
// process signals summed, pool-wide ones maxed). They appear in the
// sample's Parts for explain; the EPP's flow-control queue and request
// rate also count as demand for activation, since they exist at zero pods.
//
// # Latency goals (scrape mode: targetTTFT, targetTPOT)
//
// With a goal ("p90:500ms": a percentile from p50 to p99.9 and a
// duration; goal.go) the value is the smallest count whose predicted
// percentile is within every goal (slo.go). capacity.go learns, per
// trigger and goal, how the percentile grows with the token work per
// ready replica (prompt tokens/s for TTFT, generation tokens/s for TPOT),
// from 15 s windows of a fleet whose size held and whose pods all
// answered. The curve is the M/M/1 sojourn time's, L0 / (1 − x/C): the
// simplest queueing shape with a floor and a saturation point, and a
// straight line in (x, 1/L), so two parameters fitted by least squares,
// both readable (no-load latency, tokens/s a replica serves flat out). A
// goal becomes a per-replica token target (the load at which the curve
// meets it) fed to decide, whose windows, panic, rate limits, anti-flap
// and scale-down delay apply unchanged, with ready + starting pods as the
// count (warm-up credit). On top: a step down goes no lower than the count
// predicted within goal × (1 − sloBand) (narrowed to that share of the
// headroom above the learned no-load latency where the edge is below it),
// and queued prompt tokens (the
// EPP's in-flight tokens, else waiting × prompt tokens per request) ask at
// once for the count that serves the load and drains them within the TTFT
// goal. Until the curve is learned (loads about 20 % apart, latency rising
// with load) the KPA decides and the decision says why. Parts slo/ttft,
// slo/tpot and slo/backlog explain it (NaN when unknown, never 0).
//
// # Roles: prefill and decode (scrape mode: role, roleLabel)
//
// In disaggregated serving (llm-d, NVIDIA Dynamo, vLLM's P/D connectors)
// prefill pods compute the prompts' KV cache and decode pods generate, and
// the two run out of different things. A trigger with role: prefill sizes
// its pods on prompt tokens/s per ready prefill replica against
// targetTTFT; role: decode on generation tokens/s per ready decode replica
// against targetTPOT, with targetKVCache, when set, a floor under the law
// (decode replicas hold the sequences' KV cache). Each is an ordinary
// latency-goal query over its own pods: its own capacity model, ready
// count and windows. A role needs its goal and refuses the other's (a
// prefill pod emits one token per request, so no time per output token; a
// decode pod's TTFT is the KV transfer's): ConfigErrors naming the key
// and the value (TestRoleVariantConfigErrors).
//
// One trigger per role, not two metrics of one: a ScaledObject scales one
// Deployment, and triggers of one upstream share its scrape anyway. The
// pods: llm-d marks a pod's role with the pod label llm-d.ai/role, which
// vLLM does not copy onto its series, so either a Service per role
// (selecting on that label), or, where the series carry the role (a
// relabelling proxy, or several engines behind one endpoint), roleLabel
// naming that series label on both triggers over one Service: a pod whose
// series carry roleLabel=<role> is the role's. Closed loop
// (TestRolesClosedLoop: one Service, fake vLLM pods over loopback HTTP on
// an injected clock): both triggers read one scrape (each pod answers
// once per poll) and each count follows its own load: 5 prefill and 2
// decode pods while prompts dominate, 2 and 5 or 6 when generation does,
// each role's observed p90 within its goal, and 7 decode pods when their
// KV cache fills (the floor). With roleLabel, endpoints not ready yet have
// no series, so they give no warm-up credit, and a pod that failed to
// scrape holds scale-down for both roles (its role is unknown).
//
// # Variants: one model on several kinds of hardware (variants, variant)
//
// variants: "llama-a100=3:8,llama-l4=1" lists 2 to 4 Deployments serving
// one model, each with a cost per replica and an optional most replicas;
// each Deployment's ScaledObject has a trigger with the same list and
// variant: <its name>, and a latency goal. Their pods are found in one
// Service by name (a Deployment's pods are <name>-<hash>-<hash>,
// TestPodsOfDeployment) or, with variantLabel, by that label's value on
// their series. The triggers of a list share one group in the upstream
// (variants.go): every variant keeps its own windows and capacity models,
// learned from its own pods; every poll the group sums their token loads
// (the demand) and splits it (split.go, pure): the least total cost, the
// sum of replicas × cost, whose replicas serve the demand within every
// goal at each variant's learned tokens/s per replica, found exactly by a
// pruned search (hence the 4 variants, 1000 replicas each) — never
// costlier than any split of a brute-forced grid, and covering the demand
// whenever some split can (TestSplitCases, TestSplitCheapestProperty).
// Hysteresis, so small changes of demand never move replicas from one
// hardware to another: a split that no longer covers the demand grows in
// place (adds, removes nothing); one that does shrinks in place to the
// cheapest counts covering it at the goal band's lower edge; a swap to the
// cheapest counts overall is made only for a 15 % saving; and while a
// variant's new replicas are starting, no count goes down (make before
// break) (TestSplitCases). TestSplitNoFlap: demand wandering ±5 % for
// 500 steps, 0 swaps and 1 change, where the cheapest split at each step
// swaps 244 times.
// A variant whose capacity is not learned is not guessed at 0 (which
// would load the others with its share) nor unbounded: it keeps its own
// decision (the KPA on its own pods) and the load it serves now, and the
// learned variants split the rest (TestSplitCases). When the maxima cannot
// cover the demand, every learned variant gets its maximum (rule
// infeasible, TestSplitCases). A variant's sample is its count,
// active while it has a share and inactive at none, so KEDA may take it to
// zero; with traffic and no replica anywhere the variant of the least cost
// wakes (TestVariantGroupWakesTheCheapest). A variant none of whose pods
// answers is an error for its trigger, never a 0, and the others hold
// their counts (TestVariantGroupHoldsWhenOneIsUnreadable). Closed loop (TestVariantsClosedLoop: a100-like pods 4× an
// l4-like pod's capacity at 3× its cost): each capacity learned within
// 5 % of the truth from the variant's own pods, both triggers on one
// scrape, the split held unchanged for 100 s with the TTFT p90 within the
// goal on both. For variants the split replaces the KPA's rate limits and
// scale-down delay, and the demand is the tokens served (the larger of the
// stable and panic windows' rates), without the token backlog term; a
// variant's pods that never become ready hold the others' scale-down, so
// give the list the most replicas the cluster can schedule.
//
// # Missing data is not zero demand
//
// A target that fails to scrape (error, timeout, 5xx, malformed body) is
// no capacity and holds scale-down, because its demand is unknown; if every
// target fails the reading is an error. Endpoints that are not ready
// (Pending, starting, terminating) are not scraped and are no capacity. A
// Service with no ready endpoints is zero demand from pods; without a wake
// signal (model, eppTargets) the sample says the demand is unknown there. A configured metric that
// matches no series on any scraped pod is an error naming the key.
package inference
