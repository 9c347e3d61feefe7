package kafka

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tide-scaler/tide/pkg/sources"
)

// Upstream is the shared client of one Kafka cluster. It answers every query
// of that cluster in one batched Poll and is safe for concurrent use.
type Upstream struct {
	cluster   *cluster
	transport *kafkago.Transport
	client    *kafkago.Client
	addr      net.Addr
	nextID    atomic.Int32 // correlation ids of raw calls
	stats     counters
	coords    coordinators

	mu   sync.Mutex
	meta metadataCache
	// prev holds what earlier polls saw of each group's partitions, for
	// excludePersistentLag and persistentLagPolls. It is derived only from
	// what this process read from the cluster, so every scaler replica
	// reaches the same verdict.
	prev map[commitKey]partHistory
	// marks and flows feed lag in seconds and the rate estimates
	// (lagtime); both are bounded like prev.
	marks map[tp]*partMarks
	flows map[string]*flowState
	// bases are what the last poll of each query saw, for the activation
	// probe (probe.go), by query key.
	bases map[string]*probeBase
	// groupReads are the last members read of each group, for the raw
	// mode's cap between DescribeGroups (flow.go).
	groupReads map[string]groupRead
}

var _ sources.Upstream = (*Upstream)(nil)

// commitKey names one partition of one group.
type commitKey struct {
	group     string
	topic     string
	partition int32
}

// Stats counts what the upstream sent since it was opened. Retries count.
type Stats struct {
	Polls               int64
	MetadataRequests    int64
	OffsetFetchRequests int64
	// FindCoordinatorRequests are sent when a group's coordinator is not
	// known yet, or after an error forgot it.
	FindCoordinatorRequests int64
	ListOffsetsRequests     int64
	// DescribeGroupsRequests are sent for queries that count members: all
	// but allowIdleConsumers without lagTarget or drainGoal.
	DescribeGroupsRequests int64
	// Probes are activation probes (Probe); their ListOffsets requests
	// count in ListOffsetsRequests.
	Probes int64
}

type counters struct {
	polls, probes, metadata, offsetFetch, findCoordinator, listOffsets, describeGroups atomic.Int64
}

func newUpstream(c *cluster, tr *kafkago.Transport) *Upstream {
	addr := kafkago.TCP(c.brokers...)
	return &Upstream{
		cluster:   c,
		transport: tr,
		client:    &kafkago.Client{Addr: addr, Transport: tr},
		addr:      addr,
		meta:      metadataCache{topics: map[string]topicMeta{}},
		prev:      map[commitKey]partHistory{},
	}
}

// Stats returns the request counters, for benchmarks and telemetry.
func (u *Upstream) Stats() Stats {
	return Stats{
		Polls:                   u.stats.polls.Load(),
		MetadataRequests:        u.stats.metadata.Load(),
		OffsetFetchRequests:     u.stats.offsetFetch.Load(),
		FindCoordinatorRequests: u.stats.findCoordinator.Load(),
		ListOffsetsRequests:     u.stats.listOffsets.Load(),
		DescribeGroupsRequests:  u.stats.describeGroups.Load(),
		Probes:                  u.stats.probes.Load(),
	}
}

// netError names the cluster's brokers in an error that is not a broker's
// answer (a refused connection, a timeout, a closed socket): such errors
// often name no address at all, or the address of one broker only. A
// broker's SASL refusal names the mechanism too.
func (u *Upstream) netError(err error) error {
	if m := u.cluster.sec.mechanism; m != nil && (errors.Is(err, kafkago.SASLAuthenticationFailed) ||
		errors.Is(err, kafkago.UnsupportedSASLMechanism) || errors.Is(err, kafkago.IllegalSASLState)) {
		return fmt.Errorf("brokers %s: sasl %s: %w", strings.Join(u.cluster.brokers, ","), m.Name(), err)
	}
	var answer kafkago.Error
	if errors.As(err, &answer) {
		return err
	}
	return fmt.Errorf("brokers %s: %w", strings.Join(u.cluster.brokers, ","), err)
}

// Close closes the transport's idle connections and stops its metadata
// loop; connections in use close when their request ends.
func (u *Upstream) Close() error {
	u.transport.CloseIdleConnections()
	return nil
}
