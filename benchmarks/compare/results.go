package main

import "time"

// Results is everything one `make bench-compare` measured. It is written as
// results.json next to the markdown report and the plots, so the report can
// be re-rendered (`compare report`) without measuring again.
type Results struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Command is the exact command line that produced these results.
	Command  string            `json:"command"`
	Machine  Machine           `json:"machine"`
	Versions map[string]string `json:"versions"`
	Settings Settings          `json:"settings"`
	// Runs holds every measured configuration, each repeat separately.
	Runs        []Run              `json:"runs"`
	Correctness []CaseResult       `json:"correctness"`
	Activation  []ActivationResult `json:"activation"`
	// ActivationCost is what idle triggers cost each activation
	// implementation's upstream.
	ActivationCost []ActivationCost `json:"activationCost,omitempty"`
	// Failures are configurations that could not run at all on this
	// machine (they are not in Runs), with the reason.
	Failures []Failure `json:"failures,omitempty"`
	// Idle is the driver process with no scaler built: its RSS and
	// goroutines are subtracted from every driver's to get what the scalers
	// themselves hold.
	Idle Footprint `json:"idle"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU    string `json:"cpu"`
	Cores  int    `json:"cores"`
	Memory string `json:"memory"`
	Kernel string `json:"kernel"`
	OS     string `json:"os"`
	Go     string `json:"go"`
}

// Settings are the knobs every run shared.
type Settings struct {
	Partitions int `json:"partitions"`
	Groups     int `json:"groups"`
	Brokers    int `json:"brokers"`
	// Window is how long each configuration is observed on KEDA's schedule.
	Window          Duration `json:"window"`
	Repeats         int      `json:"repeats"`
	PollingInterval Duration `json:"pollingInterval"` // KEDA's loop
	HPASync         Duration `json:"hpaSync"`         // the HPA's metric reads
	TidePoll        Duration `json:"tidePoll"`        // scaler serve --poll-interval
	KafkaScales     []int    `json:"kafkaScales"`
	RedisScales     []int    `json:"redisScales"`
	LagThreshold    int      `json:"lagThreshold"`
	// RedisSettle is the wait between a Redis run's warm-up and its
	// window (Kafka runs wait the drive's default 3 s).
	RedisSettle Duration `json:"redisSettle,omitempty"`
	ListLength  int      `json:"listLength"`
	// The kafka-big suite: its scales, and the empty topics its broker
	// holds besides the measured one (zero when the suite did not run).
	BigScales        []int `json:"bigScales,omitempty"`
	FillerTopics     int   `json:"fillerTopics,omitempty"`
	FillerPartitions int   `json:"fillerPartitions,omitempty"`
}

// Implementation names, as they appear in the report.
const (
	ImplTide       = "tide"              // Tide through KEDA's external scaler
	ImplTideSlow   = "tide-poll-15s"     // Tide polling at the HPA's 15 s
	ImplKEDAKafka  = "keda-kafka"        // KEDA's `kafka` scaler (sarama)
	ImplKEDAApache = "keda-apache-kafka" // KEDA's `apache-kafka` scaler (kafka-go)
	ImplKEDARedis  = "keda-redis"        // KEDA's `redis` list scaler
)

// Run is one configuration observed once for Window on KEDA's schedule:
// every ScaledObject's scaler is asked by the loop every PollingInterval and
// by the HPA every HPASync, starting at a random phase.
type Run struct {
	Suite  string `json:"suite"` // kafka, kafka-big or redis
	Impl   string `json:"impl"`
	Scale  int    `json:"scale"` // ScaledObjects (kafka) or lists (redis)
	Repeat int    `json:"repeat"`

	Window       float64 `json:"windowSeconds"` // as measured
	Observations int     `json:"observations"`
	Errors       int     `json:"errors"`
	FirstError   string  `json:"firstError,omitempty"`

	// Latency of one GetMetricsAndActivity, as KEDA's loop sees it.
	P50 float64 `json:"p50Micros"`
	P99 float64 `json:"p99Micros"`
	Max float64 `json:"maxMicros"`

	// Allocations per observation in the driver (KEDA's process), and for
	// Tide also in the scaler process (from its go_memstats counters).
	Allocs       float64 `json:"allocsPerObs"`
	Bytes        float64 `json:"bytesPerObs"`
	ServerAllocs float64 `json:"serverAllocsPerObs"`
	ServerBytes  float64 `json:"serverBytesPerObs"`

	// Upstream load in the window: Kafka requests counted at the brokers by
	// key, or Redis commands from INFO commandstats.
	Requests      map[string]int `json:"requests"`
	RequestsTotal int            `json:"requestsTotal"`
	PerObs        float64        `json:"requestsPerObs"`
	PerMinute     float64        `json:"requestsPerMinute"`
	// Connections the upstream saw open at the end of the window.
	Conns int `json:"conns"`

	Driver Footprint `json:"driver"`
	Server Footprint `json:"server"` // Tide's scaler process; zero for KEDA's scalers
}

// Footprint is a process's memory, goroutines and open file descriptors
// (mostly sockets) after the window.
type Footprint struct {
	RSS        int64 `json:"rssBytes"`
	PeakRSS    int64 `json:"peakRSSBytes"`
	Heap       int64 `json:"heapBytes"`
	Goroutines int   `json:"goroutines"`
	FDs        int   `json:"fds"`
}

// Failure is a configuration that could not be measured.
type Failure struct {
	Suite string `json:"suite"`
	Impl  string `json:"impl"`
	Scale int    `json:"scale"`
	Error string `json:"error"`
}

// CaseResult is what one implementation reported for one correctness case.
type CaseResult struct {
	Case        string  `json:"case"`
	Description string  `json:"description"`
	Impl        string  `json:"impl"`
	Lag         float64 `json:"lag"`
	Active      bool    `json:"active"`
	Replicas    int     `json:"replicas"` // what the HPA would compute from the metric
	Error       string  `json:"error,omitempty"`
	WantLag     float64 `json:"wantLag"`
	WantRepl    int     `json:"wantReplicas"`
	WantError   bool    `json:"wantError"`
	Correct     bool    `json:"correct"`
	Why         string  `json:"why"`
}

// ActivationResult is the time from the first message on an idle topic to
// the first `active`, one trial.
type ActivationResult struct {
	Impl    string  `json:"impl"` // tide-push, keda-kafka-30s, keda-kafka-1s, and their Redis peers
	Trial   int     `json:"trial"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
}

// ActivationCost is what one activation implementation asked of its
// upstream over a window with only idle triggers open: Kafka requests
// counted at the brokers, or Redis commands from INFO commandstats.
type ActivationCost struct {
	Impl             string         `json:"impl"`
	Suite            string         `json:"suite"` // kafka or redis
	Triggers         int            `json:"triggers"`
	Window           float64        `json:"windowSeconds"`
	Requests         int            `json:"requests"`
	ByKind           map[string]int `json:"byKind,omitempty"` // requests by API, or commands by name
	PerTriggerMinute float64        `json:"perTriggerMinute"`
}

// Duration is a time.Duration that reads and writes as "30s".
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes the duration as Go prints it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}
