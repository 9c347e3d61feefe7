package sources

import (
	"context"
	"time"

	"github.com/tide-scaler/tide/pkg/lagtime"
)

// Sample is one observation of demand for one query.
type Sample struct {
	// Time is when the poll that produced the sample started.
	Time time.Time
	// Value is the demand that counts towards scaling out (for Kafka: total
	// lag over the partitions that count). Never negative.
	Value float64
	// Activity is the demand that counts towards activation. It differs from
	// Value when a source excludes some demand from scaling but not from
	// activation (Kafka's excludePersistentLag).
	Activity float64
	// Unknown marks a sample whose Value and Activity are 0 only because
	// the upstream gave no number (an empty, NaN or ±Inf Prometheus answer
	// under ignoreNullValues, as KEDA reads it). The activation latch does
	// not let it activate, nor deactivate before unknownGracePeriod.
	Unknown bool
	// Capacity is the most replicas that can do useful work (for Kafka: the
	// partitions that count). Zero means unbounded.
	Capacity int
	// Parts is per-part detail (per partition, per key), for explain and logs.
	Parts []Part
	// Excluded counts the parts left out of Value as stuck (Kafka
	// partitions whose commit and lag stand still): adding replicas does not
	// move them. The engine exports it per query.
	Excluded int
	// Flow is the queue's movement in time, for sources that estimate it
	// (Kafka); nil when the source does not, or has not seen two polls yet.
	Flow *Flow
	// Notes are conditions worth telling a human once, such as "consumer
	// group has committed offsets for a topic that does not exist". The engine logs each distinct note
	// once per query and exports it as a metric label.
	Notes []string
}

// Flow is how fast a queue fills and drains, estimated from offsets seen
// over successive polls. Rates are smoothed; a zero PerConsumer means the
// consumers have not yet been seen working through a backlog, so their
// capacity is unknown.
type Flow struct {
	// LagSeconds is how far behind the consumers are in time: the age of
	// the oldest message not yet consumed (the maximum over parts).
	LagSeconds float64
	// LagSecondsExact is false when the oldest unconsumed message is older
	// than the history kept, so LagSeconds is a lower bound.
	LagSecondsExact bool
	// Produced and Consumed are messages per second arriving and consumed.
	Produced, Consumed float64
	// PerConsumer is messages per second one consumer handles while it has
	// a backlog; 0 when not observed yet.
	PerConsumer float64
	// Consumers is the number of group members consuming the parts; 0 when
	// unknown or none.
	Consumers int
	// Members is Consumers with rebalances bridged (lagtime.HeldMembers):
	// during a rebalance every member shows an empty assignment, and a
	// sizing law must not read that as no consumers.
	Members int
	// LatestProduced is the arrival rate over the latest poll interval
	// alone, unsmoothed; it counts only with LatestKnown (the first poll,
	// or one after a partition change, has no interval to measure).
	LatestProduced float64
	LatestKnown    bool
	// Recent is the log-end totals of the last few minutes, oldest first,
	// for a forecast of bursts that recur (lagtime.BurstFloor); nil when
	// not kept. Read-only: a pointer keeps Flow comparable.
	Recent *lagtime.Recent
	// PartLoads is each partition's lag and recent arrival rate, in the
	// order of the sample's partitions, for sizing on skew
	// (lagtime.Backlog.Parts); nil when not measured. Read-only, a
	// pointer like Recent.
	PartLoads *[]lagtime.PartLoad
}

// Part is the demand of one part of a query: a partition or a key.
type Part struct {
	Name  string
	Value float64
	// Info is free-form detail, e.g. "committed=10 latest=25".
	Info string
}

// Endpoint names an upstream.
type Endpoint struct {
	// Key identifies the upstream and everything that shapes its client
	// (addresses, TLS, credential fingerprints): queries with equal keys
	// share one Upstream. It may hold hashes, never secrets.
	Key string
	// Name is safe to log and to use as a metric label, e.g.
	// "kafka://b1:9092,b2:9092".
	Name string
	// Interval, when positive, polls this upstream at its own pace instead
	// of the engine's PollInterval (an inference scrape every second, say).
	// The first query that opens the upstream sets it.
	Interval time.Duration
}

// Query is what one or more triggers ask of an upstream. Two triggers whose
// queries have the same Key share one reading.
type Query interface {
	// Key identifies the reading across the whole engine; it includes the
	// upstream's key and every option that changes the Sample.
	Key() string
	// Upstream names the upstream the query reads.
	Upstream() Endpoint
	// Open creates the client for the query's upstream. The engine calls it
	// once per upstream key and shares the result with every query that
	// has the same Upstream().Key.
	Open() (Upstream, error)
}

// Result is the outcome of one query in one poll.
type Result struct {
	Sample Sample
	Err    error
}

// Upstream reads many queries of one upstream in one batched round.
type Upstream interface {
	// Poll reads every query and returns one Result per query, in order.
	// Queries are of the type the upstream's Open came from. now is the
	// time the poll started; the engine stamps samples with it.
	Poll(ctx context.Context, now time.Time, queries []Query) []Result
	// Close releases the upstream's connections.
	Close() error
}
