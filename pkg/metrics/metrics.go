package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "tide"

// Metrics holds every collector Tide exports.
type Metrics struct {
	// Polls: one observation per upstream poll.
	PollDuration *prometheus.HistogramVec // upstream
	PollErrors   *prometheus.CounterVec   // upstream
	PollOverruns *prometheus.CounterVec   // upstream: polls that took the poll interval or longer
	LastPoll     *prometheus.GaugeVec     // upstream: unix time of the last successful poll
	Queries      *prometheus.GaugeVec     // upstream: queries polled
	QueryErrors  *prometheus.CounterVec   // upstream: queries that failed in a poll
	Notes        *prometheus.GaugeVec     // upstream, query, note: 1 while a source reports the note
	Excluded     *prometheus.GaugeVec     // upstream, query: parts left out of scale-out as stuck
	// Activation probes (sources.Prober): probes sent, probes that failed,
	// and queries a probe woke for an immediate poll.
	Probes      *prometheus.CounterVec // upstream
	ProbeErrors *prometheus.CounterVec // upstream
	ProbeWakes  *prometheus.CounterVec // upstream

	// RPCs.
	RPCs        *prometheus.CounterVec   // method, code
	RPCDuration *prometheus.HistogramVec // method
	Streams     *prometheus.GaugeVec     // method: open server streams
	Triggers    prometheus.Gauge         // parsed triggers held in the cache
	// ClientStreams is the most streams of a method one client connection
	// holds open; StreamLimit is the per-client bound (0: none).
	ClientStreams *prometheus.GaugeVec // method
	StreamLimit   prometheus.Gauge

	// Decisions, per ScaledObject metric: tide_metric_value, _target,
	// tide_sample_age_seconds, tide_desired_replicas, tide_active and
	// tide_lag_seconds by namespace, scaledobject and metric, in one
	// collector.
	PerMetric *PerMetric

	// HPA awareness, per ScaledObject.
	HPAPredicted   *prometheus.GaugeVec   // namespace, scaledobject
	HPARule        *prometheus.GaugeVec   // namespace, scaledobject, rule
	HPAErrors      *prometheus.CounterVec // namespace, scaledobject
	ConfigWarnings *prometheus.GaugeVec   // namespace, scaledobject, warning
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	up := []string{"upstream"}
	m := &Metrics{
		PollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "poll_duration_seconds",
			Help:    "Time one batched poll of an upstream took.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, up),
		PollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "poll_errors_total",
			Help: "Polls in which the upstream could not be read at all.",
		}, up),
		PollOverruns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "poll_overruns_total",
			Help: "Polls that took the upstream's poll interval or longer: the schedule slipped by at least one poll.",
		}, up),
		Probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "probes_total",
			Help: "Activation probes of an upstream's inactive queries (Kafka: log end offsets only).",
		}, up),
		ProbeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "probe_errors_total",
			Help: "Activation probes that failed in part or whole; the normal poll still reads every query.",
		}, up),
		ProbeWakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "probe_wakes_total",
			Help: "Inactive queries an activation probe woke for an immediate poll.",
		}, up),
		LastPoll: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_successful_poll_timestamp_seconds",
			Help: "Unix time of the last poll of the upstream in which at least one query succeeded.",
		}, up),
		Queries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "queries",
			Help: "Distinct queries polled on the upstream (triggers that share a query count once).",
		}, up),
		QueryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "query_errors_total",
			Help: "Query results that were errors.",
		}, up),
		Notes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "source_notes",
			Help: "1 while a source reports a condition worth a human's attention for a query.",
		}, []string{"upstream", "query", "note"}),
		Excluded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "source_excluded_parts",
			Help: "Parts of a query (Kafka partitions) left out of scale-out because their lag stands still.",
		}, []string{"upstream", "query"}),
		RPCs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rpc_requests_total",
			Help: "gRPC requests by method and status code.",
		}, []string{"method", "code"}),
		RPCDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "rpc_duration_seconds",
			Help:    "Time to answer unary gRPC requests.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .05, .25, 1, 3},
		}, []string{"method"}),
		Streams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "open_streams",
			Help: "Open server streams by method.",
		}, []string{"method"}),
		Triggers: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "triggers",
			Help: "Parsed triggers held in the cache.",
		}),
		ClientStreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "streams_per_client_max",
			Help: "Most streams of the method that one client connection holds open now (counted only under a limit).",
		}, []string{"method"}),
		StreamLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "streams_per_client_limit",
			Help: "Most streams of each streaming method one client connection may hold open (--max-streams-per-client; 0: no limit).",
		}),
		PerMetric: newPerMetric(),
		HPAPredicted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "hpa_predicted_replicas",
			Help: "Replicas the HPA model expects the ScaledObject's HPA to leave at its next sync (HPA awareness).",
		}, []string{"namespace", "scaledobject"}),
		HPARule: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "hpa_limiting_rule",
			Help: "1 for the rule that decides the predicted replicas: WithinTolerance, ScaleUpLimited, StabilizationWindow, AtMax, PartitionCapped, ...",
		}, []string{"namespace", "scaledobject", "rule"}),
		HPAErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "hpa_read_errors_total",
			Help: "Failed reads of a ScaledObject's HPA or scale subresource (HPA awareness).",
		}, []string{"namespace", "scaledobject"}),
		ConfigWarnings: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "config_warnings",
			Help: "1 while a ScaledObject's configuration cannot work as meant: MaxAbovePartitions, ReplicasModeTolerance, ReplicasModeTarget, CooldownBelowPoll.",
		}, []string{"namespace", "scaledobject", "warning"}),
	}
	reg.MustRegister(m.PollDuration, m.PollErrors, m.PollOverruns, m.Probes, m.ProbeErrors, m.ProbeWakes, m.LastPoll, m.Queries, m.QueryErrors, m.Notes,
		m.Excluded, m.RPCs, m.RPCDuration, m.Streams, m.Triggers, m.ClientStreams, m.StreamLimit,
		m.PerMetric,
		m.HPAPredicted, m.HPARule, m.HPAErrors, m.ConfigWarnings)
	return m
}
