package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

// tp names one partition of one topic.
type tp struct {
	topic     string
	partition int32
}

// commit is a group's committed offset of one partition, or why it is
// unknown.
type commit struct {
	offset int64
	err    error
}

// groupCommits is one group's commits by topic and partition.
type groupCommits map[string]map[int32]commit

// fetchCommits reads a group's commits with one OffsetFetch to its
// coordinator: for the given topic partitions, or, with topics nil, for every
// topic the group has committed.
//
// A group the broker does not know has committed nothing: kfake answers
// GROUP_ID_NOT_FOUND for it (top level or per partition), real brokers
// offsets of -1 without an error. Any error forgets the cached coordinator;
// coordinator errors (moved, loading, unavailable) are retried once at once,
// with a fresh lookup, and a failed connection is the next poll's.
func (u *Upstream) fetchCommits(ctx context.Context, group string, topics map[string][]int) (groupCommits, error) {
	var err error
	for range 2 {
		var (
			id int32
			cs groupCommits
		)
		if id, err = u.coordinator(ctx, group); err == nil {
			u.stats.offsetFetch.Add(1)
			cs, err = u.offsetFetch(ctx, id, group, topics)
		}
		switch {
		case err == nil:
			return withoutUnknownGroup(cs), nil
		case errors.Is(err, kafkago.GroupIdNotFound):
			return groupCommits{}, nil
		}
		u.coords.forget(group)
		if ctx.Err() != nil || !coordinatorMoved(err) {
			return nil, u.netError(err)
		}
	}
	return nil, u.netError(err)
}

// withoutUnknownGroup drops partitions whose only news is that the group is
// unknown (kfake answers GROUP_ID_NOT_FOUND per partition on older
// versions): such a group has committed nothing.
func withoutUnknownGroup(cs groupCommits) groupCommits {
	for t, ps := range cs {
		for p, c := range ps {
			if errors.Is(c.err, kafkago.GroupIdNotFound) {
				delete(ps, p)
			}
		}
		if len(ps) == 0 {
			delete(cs, t)
		}
	}
	return cs
}

func coordinatorMoved(err error) bool {
	return errors.Is(err, kafkago.NotCoordinatorForGroup) ||
		errors.Is(err, kafkago.GroupCoordinatorNotAvailable) ||
		errors.Is(err, kafkago.GroupLoadInProgress)
}

// Special ListOffsets timestamps.
const (
	latestTimestamp   = -1 // log end offset (high watermark)
	earliestTimestamp = -2 // log start offset
)

// offsetAt is a partition's offset at a ListOffsets timestamp, or why it is
// unknown.
type offsetAt struct {
	offset int64
	err    error
}

// listOffsets asks leader, in one ListOffsets request, for the offset at ts
// of every partition in parts (all led by leader). Kafka refuses a partition
// listed twice in one request, which is why earliest and latest offsets go
// in separate requests.
func (u *Upstream) listOffsets(ctx context.Context, leader int32, parts []tp, ts int64) map[tp]offsetAt {
	slices.SortFunc(parts, func(a, b tp) int {
		if a.topic != b.topic {
			if a.topic < b.topic {
				return -1
			}
			return 1
		}
		return int(a.partition) - int(b.partition)
	})
	req := &listoffsets.Request{ReplicaID: -1}
	for _, p := range parts {
		if n := len(req.Topics); n == 0 || req.Topics[n-1].Topic != p.topic {
			req.Topics = append(req.Topics, listoffsets.RequestTopic{Topic: p.topic})
		}
		t := &req.Topics[len(req.Topics)-1]
		t.Partitions = append(t.Partitions, listoffsets.RequestPartition{
			Partition: p.partition, CurrentLeaderEpoch: -1, Timestamp: ts,
		})
	}
	out := make(map[tp]offsetAt, len(parts))
	fail := func(err error) map[tp]offsetAt {
		for _, p := range parts {
			if _, ok := out[p]; !ok {
				out[p] = offsetAt{err: err}
			}
		}
		return out
	}
	u.stats.listOffsets.Add(1)
	m, err := u.roundTrip(ctx, leader, req)
	if err != nil {
		return fail(fmt.Errorf("leader %s: %w", u.brokerName(leader), err))
	}
	res, ok := m.(*listoffsets.Response)
	if !ok {
		return fail(fmt.Errorf("leader %s: unexpected %T for ListOffsets", u.brokerName(leader), m))
	}
	for _, t := range res.Topics {
		for _, p := range t.Partitions {
			o := offsetAt{offset: p.Offset}
			if p.ErrorCode != 0 {
				o = offsetAt{err: kafkago.Error(p.ErrorCode)}
			}
			out[tp{t.Topic, p.Partition}] = o
		}
	}
	return fail(fmt.Errorf("leader %s: no answer for the partition", u.brokerName(leader)))
}

// leaderMoved reports errors that mean our idea of the partition's leader
// (or of the topic) is out of date, so that re-reading metadata can help.
func leaderMoved(err error) bool {
	for _, e := range []error{
		kafkago.NotLeaderForPartition, kafkago.LeaderNotAvailable,
		kafkago.UnknownTopicOrPartition, kafkago.FencedLeaderEpoch,
		kafkago.UnknownLeaderEpoch, kafkago.BrokerNotAvailable,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
