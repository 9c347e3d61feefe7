package kafka

import (
	"context"
	"fmt"
	"sync"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/findcoordinator"
	"github.com/segmentio/kafka-go/protocol/offsetfetch"
)

// coordinators remembers each consumer group's coordinator broker. kafka-go
// looks the coordinator up before every group request, which for 10 groups
// made 10 of a poll's 23 requests FindCoordinator; a coordinator moves only
// when its broker fails or partitions of __consumer_offsets are reassigned,
// and either shows as an error of the next request, which forgets it.
type coordinators struct {
	mu      sync.Mutex
	byGroup map[string]int32
}

func (c *coordinators) get(group string) (int32, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byGroup[group]
	return id, ok
}

func (c *coordinators) set(group string, id int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byGroup == nil {
		c.byGroup = map[string]int32{}
	}
	c.byGroup[group] = id
}

func (c *coordinators) forget(group string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byGroup, group)
}

// coordinator is group's coordinator broker, from the cache or one
// FindCoordinator.
func (u *Upstream) coordinator(ctx context.Context, group string) (int32, error) {
	if id, ok := u.coords.get(group); ok {
		return id, nil
	}
	u.stats.findCoordinator.Add(1)
	m, err := u.roundTrip(ctx, -1, &findcoordinator.Request{Key: group})
	if err != nil {
		return 0, err
	}
	res, ok := m.(*findcoordinator.Response)
	if !ok {
		return 0, fmt.Errorf("unexpected %T for FindCoordinator", m)
	}
	if res.ErrorCode != 0 {
		return 0, kafkago.Error(res.ErrorCode)
	}
	u.coords.set(group, res.NodeID)
	return res.NodeID, nil
}

// offsetFetch sends one OffsetFetch for group to its coordinator. Topics nil
// is sent as a null array, which brokers (2.0+, and kfake from v2) answer
// with every committed partition.
func (u *Upstream) offsetFetch(ctx context.Context, coordinator int32, group string, topics map[string][]int) (groupCommits, error) {
	req := &offsetfetch.Request{GroupID: group}
	for name, ps := range topics {
		idx := make([]int32, len(ps))
		for i, p := range ps {
			idx[i] = int32(p)
		}
		req.Topics = append(req.Topics, offsetfetch.RequestTopic{Name: name, PartitionIndexes: idx})
	}
	m, err := u.roundTrip(ctx, coordinator, req)
	if err != nil {
		return nil, err
	}
	res, ok := m.(*offsetfetch.Response)
	if !ok {
		return nil, fmt.Errorf("unexpected %T for OffsetFetch", m)
	}
	if res.ErrorCode != 0 {
		return nil, kafkago.Error(res.ErrorCode)
	}
	out := make(groupCommits, len(res.Topics))
	for _, t := range res.Topics {
		cs := make(map[int32]commit, len(t.Partitions))
		for _, p := range t.Partitions {
			c := commit{offset: p.CommittedOffset}
			if p.ErrorCode != 0 {
				c.err = kafkago.Error(p.ErrorCode)
			}
			cs[p.PartitionIndex] = c
		}
		out[t.Name] = cs
	}
	return out, nil
}
