package kafka

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// metadataRefresh is how old cached topic metadata may get, in poll time,
// before the next poll re-reads it. Leaders rarely move; when they do, the
// ListOffsets error makes the poll re-read at once.
const metadataRefresh = 30 * time.Second

type partitionMeta struct {
	id     int32
	leader int32 // -1: no leader
	err    error // partition-level error in the metadata answer
}

// topicMeta is one topic's answer: its partitions sorted by id, or why the
// topic cannot be read (sources.ErrNotFound wrapped for a missing topic).
type topicMeta struct {
	partitions []partitionMeta
	err        error
}

// metadataCache is the upstream's view of the watched topics. Topics that do
// not exist are not cached: they are asked for again on every poll, so a
// topic created after its ScaledObject is picked up at once.
type metadataCache struct {
	topics  map[string]topicMeta
	brokers map[int32]string // id -> host:port, for error messages
	read    time.Time        // poll time of the last full read
	stale   bool             // a leader or unknown-topic error since then
}

// topicMetadata returns metadata for topics. It reads from the cluster every
// topic when the cache is older than metadataRefresh or marked stale (or
// when force is set), else only the topics not cached. fromCache reports
// whether some topic was served from the cache rather than read now. A
// returned error means the cluster could not be asked at all.
func (u *Upstream) topicMetadata(ctx context.Context, now time.Time, topics []string, force bool) (_ map[string]topicMeta, fromCache bool, _ error) {
	u.mu.Lock()
	full := force || u.meta.stale || u.meta.read.IsZero() || now.Sub(u.meta.read) >= metadataRefresh
	out := make(map[string]topicMeta, len(topics))
	var ask []string
	for _, t := range topics {
		if m, ok := u.meta.topics[t]; ok && !full {
			out[t] = m
			continue
		}
		ask = append(ask, t)
	}
	u.mu.Unlock()
	fromCache = len(out) > 0
	if len(ask) == 0 {
		return out, fromCache, nil
	}
	read, brokers, err := u.readMetadata(ctx, ask)
	if err != nil {
		return nil, false, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if full {
		// A full read replaces the cache, which drops topics nobody
		// watches any more.
		u.meta.topics = make(map[string]topicMeta, len(read))
		u.meta.read, u.meta.stale = now, false
	}
	u.meta.brokers = brokers
	for t, m := range read {
		out[t] = m
		if m.err == nil {
			u.meta.topics[t] = m
		}
		// A partition without a leader is being elected: read again at
		// the next poll rather than serve the gap for 30 s.
		for _, pm := range m.partitions {
			u.meta.stale = u.meta.stale || pm.err != nil
		}
	}
	return out, fromCache, nil
}

// invalidateMetadata makes the next poll re-read all topic metadata.
func (u *Upstream) invalidateMetadata() {
	u.mu.Lock()
	u.meta.stale = true
	u.mu.Unlock()
}

// brokerName returns host:port of a broker id for messages.
func (u *Upstream) brokerName(id int32) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if a, ok := u.meta.brokers[id]; ok {
		return a
	}
	return "broker " + strconv.Itoa(int(id))
}

// readMetadata sends one Metadata request for topics. It never asks the
// broker to create topics: a scaler that creates the topics it watches
// turns typos into topics.
func (u *Upstream) readMetadata(ctx context.Context, topics []string) (map[string]topicMeta, map[int32]string, error) {
	u.stats.metadata.Add(1)
	m, err := u.roundTrip(ctx, -1, &metadata.Request{TopicNames: topics})
	if err != nil {
		return nil, nil, u.netError(err)
	}
	res, ok := m.(*metadata.Response)
	if !ok {
		return nil, nil, fmt.Errorf("unexpected %T for Metadata", m)
	}
	brokers := make(map[int32]string, len(res.Brokers))
	for _, b := range res.Brokers {
		brokers[b.NodeID] = net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	}
	out := make(map[string]topicMeta, len(topics))
	for _, t := range res.Topics {
		out[t.Name] = topicFromMetadata(t)
	}
	for _, t := range topics {
		if _, ok := out[t]; !ok {
			out[t] = topicMeta{err: notFound(t)}
		}
	}
	return out, brokers, nil
}

func topicFromMetadata(t metadata.ResponseTopic) topicMeta {
	switch code := kafkago.Error(t.ErrorCode); code {
	case 0:
	case kafkago.UnknownTopicOrPartition:
		return topicMeta{err: notFound(t.Name)}
	default:
		return topicMeta{err: fmt.Errorf("topic %q: %w", t.Name, code)}
	}
	ps := make([]partitionMeta, len(t.Partitions))
	for i, p := range t.Partitions {
		ps[i] = partitionMeta{id: p.PartitionIndex, leader: p.LeaderID}
		// Only a missing leader matters: brokers also report errors such
		// as REPLICA_NOT_AVAILABLE for partitions whose leader serves fine.
		if p.LeaderID < 0 {
			ps[i].err = kafkago.LeaderNotAvailable
			if p.ErrorCode != 0 {
				ps[i].err = kafkago.Error(p.ErrorCode)
			}
		}
	}
	slices.SortFunc(ps, func(a, b partitionMeta) int { return int(a.id) - int(b.id) })
	return topicMeta{partitions: ps}
}
