package kafka

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

	mu   sync.Mutex
	meta metadataCache
	// prev holds the committed offsets seen by earlier polls, for
	// excludePersistentLag. It is derived only from what this process read
	// from the cluster, so every scaler replica reaches the same verdict.
	prev map[commitKey]seenCommit
}

var _ sources.Upstream = (*Upstream)(nil)

// commitKey names one partition of one group.
type commitKey struct {
	group     string
	topic     string
	partition int32
}

type seenCommit struct {
	offset int64
	since  time.Time // first poll that saw this offset
	last   time.Time // latest poll that saw it
}

// forgetCommitsAfter drops remembered commits of partitions no poll has read
// for this long (queries that went away), bounding the map.
const forgetCommitsAfter = 15 * time.Minute

// Stats counts what the upstream sent since it was opened. Retries count.
type Stats struct {
	Polls               int64
	MetadataRequests    int64
	OffsetFetchRequests int64
	ListOffsetsRequests int64
}

type counters struct {
	polls, metadata, offsetFetch, listOffsets atomic.Int64
}

func newUpstream(c *cluster, tr *kafkago.Transport) *Upstream {
	addr := kafkago.TCP(c.brokers...)
	return &Upstream{
		cluster:   c,
		transport: tr,
		client:    &kafkago.Client{Addr: addr, Transport: tr},
		addr:      addr,
		meta:      metadataCache{topics: map[string]topicMeta{}},
		prev:      map[commitKey]seenCommit{},
	}
}

// Stats returns the request counters, for benchmarks and telemetry.
func (u *Upstream) Stats() Stats {
	return Stats{
		Polls:               u.stats.polls.Load(),
		MetadataRequests:    u.stats.metadata.Load(),
		OffsetFetchRequests: u.stats.offsetFetch.Load(),
		ListOffsetsRequests: u.stats.listOffsets.Load(),
	}
}

// netError names the cluster's brokers in an error that is not a broker's
// answer (a refused connection, a timeout, a closed socket): such errors
// often name no address at all, or the address of one broker only.
func (u *Upstream) netError(err error) error {
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

// minPersistence is how long a committed offset must have stood still before
// its lag counts as persistent. Without it, a poll that follows another by
// milliseconds (a new trigger's first sample right after a scheduled poll)
// would call every lagging partition stuck.
const minPersistence = time.Second

// previousCommits returns, for each key, the remembered commit if it has
// stood for at least minPersistence at now.
func (u *Upstream) previousCommits(now time.Time, keys []commitKey) map[commitKey]int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[commitKey]int64, len(keys))
	for _, k := range keys {
		if c, ok := u.prev[k]; ok && now.Sub(c.since) >= minPersistence {
			out[k] = c.offset
		}
	}
	return out
}

// rememberCommits stores the commits read by the poll at now and forgets
// those not read for forgetCommitsAfter.
func (u *Upstream) rememberCommits(now time.Time, commits map[commitKey]int64) {
	if len(commits) == 0 {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, off := range commits {
		c, ok := u.prev[k]
		if !ok || c.offset != off {
			c = seenCommit{offset: off, since: now}
		}
		c.last = now
		u.prev[k] = c
	}
	for k, c := range u.prev {
		if now.Sub(c.last) > forgetCommitsAfter {
			delete(u.prev, k)
		}
	}
}
