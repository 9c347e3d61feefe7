package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/describegroups"

	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/sources"
)

// flowState is one query's rate estimate across polls.
type flowState struct {
	stalls  lagtime.Stalls
	est     lagtime.Estimate
	members lagtime.HeldMembers
	recent  lagtime.Recent
	last    time.Time
}

// partMarks is one partition's log-end history, for lag in seconds.
type partMarks struct {
	marks lagtime.Marks
	last  time.Time
}

// groupMembers returns, per member of the group, the topics it has
// partitions of. DescribeGroups goes to the group's coordinator, like
// OffsetFetch; every group pays for it unless all its queries set
// allowIdleConsumers without lagTarget or drainGoal.
//
// The request goes to the cached coordinator (coordinators), as a rawCall
// like OffsetFetch: through the transport's routing, kafka-go looked the
// coordinator up and dialled it afresh for every group, one
// FindCoordinator and one connection per DescribeGroups. The assignments
// are decoded here: kafka-go's Client.DescribeGroups
// fails the whole group when a member's subscription is a newer version
// than it knows (Java and franz-go clients send v1-v3, with owned
// partitions and rack ids), and only the assignment's leading topic list,
// common to every version, matters here.
func (u *Upstream) groupMembers(ctx context.Context, group string) ([][]string, error) {
	u.stats.describeGroups.Add(1)
	id, err := u.coordinator(ctx, group)
	if err != nil {
		return nil, u.netError(err)
	}
	msg, err := u.roundTrip(ctx, id, &describegroups.Request{Groups: []string{group}})
	if err != nil {
		u.coords.forget(group)
		return nil, u.netError(err)
	}
	res, ok := msg.(*describegroups.Response)
	if !ok {
		return nil, fmt.Errorf("DescribeGroups: unexpected response %T", msg)
	}
	var out [][]string
	for _, g := range res.Groups {
		if g.ErrorCode != 0 {
			err := kafkago.Error(g.ErrorCode)
			if errors.Is(err, kafkago.GroupIdNotFound) {
				return nil, nil
			}
			if coordinatorMoved(err) {
				u.coords.forget(group)
			}
			return nil, err
		}
		for _, m := range g.Members {
			topics, err := assignedTopics(m.MemberAssignment)
			if err != nil {
				return nil, fmt.Errorf("member %s: %w", m.MemberID, err)
			}
			out = append(out, topics)
		}
	}
	return out, nil
}

// assignedTopics reads the topics with at least one partition from a
// consumer-protocol assignment: int16 version, then an array of (string
// topic, array of int32 partitions); whatever follows (user data) is
// ignored. An empty assignment (a member mid-rebalance) has no topics.
func assignedTopics(b []byte) ([]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	r := wireReader{b: b}
	r.int16() // version
	n := r.int32()
	var topics []string
	for i := int32(0); i < n && r.err == nil; i++ {
		topic := r.string()
		parts := r.int32()
		if parts < 0 || int(parts)*4 > len(r.b) {
			r.fail()
			break
		}
		r.b = r.b[4*parts:]
		if parts > 0 {
			topics = append(topics, topic)
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("malformed consumer assignment (%d bytes): %w", len(b), r.err)
	}
	return topics, nil
}

// wireReader reads Kafka's big-endian primitives; the first short read
// sets err and every later read returns zero.
type wireReader struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (r *wireReader) fail() { r.err, r.b = errShort, nil }

func (r *wireReader) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) int16() int16 {
	if v := r.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *wireReader) int32() int32 {
	if v := r.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (r *wireReader) string() string {
	return string(r.take(int(r.int16())))
}

// consumersOf counts the members assigned a partition of any of topics.
func consumersOf(members [][]string, topics []string) int {
	n := 0
	for _, mt := range members {
		if slices.ContainsFunc(mt, func(t string) bool { return slices.Contains(topics, t) }) {
			n++
		}
	}
	return n
}

// describeGroups reads, concurrently with the rest of the poll, the members
// of every group a query that counts members reads; the returned func waits
// for it. A group only the raw mode's cap counts is described at most every
// rawMembersMaxAge; in between its last members serve. A failure is a note,
// not an error: the estimate only stops learning the per-consumer rate until
// a later poll reads the members again.
func (p *poll) describeGroups(ctx context.Context) (wait func()) {
	each := map[string]bool{}
	for _, q := range p.queries {
		if q != nil && q.consumers != noMembers {
			each[q.group] = each[q.group] || q.consumers == membersEachPoll
		}
	}
	p.members = map[string][][]string{}
	p.memberErrs = map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g, everyPoll := range each {
		if !everyPoll {
			if m, ok := p.u.recentMembers(g, p.now); ok {
				mu.Lock()
				p.members[g] = m
				mu.Unlock()
				continue
			}
		}
		wg.Go(func() {
			m, err := p.u.groupMembers(ctx, g)
			if err == nil {
				p.u.rememberMembers(g, m, p.now)
			}
			mu.Lock()
			defer mu.Unlock()
			p.members[g], p.memberErrs[g] = m, err
		})
	}
	return wg.Wait
}

// groupRead is a group's members as of a DescribeGroups.
type groupRead struct {
	members [][]string
	at      time.Time
}

// maxAge is how long the raw mode's cap may use r.
func (r groupRead) maxAge() time.Duration {
	if len(r.members) == 0 {
		return emptyMembersMaxAge
	}
	return rawMembersMaxAge
}

// recentMembers returns the members of group read within rawMembersMaxAge
// before now (emptyMembersMaxAge when that read found none).
func (u *Upstream) recentMembers(group string, now time.Time) ([][]string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	r, ok := u.groupReads[group]
	if !ok || now.Before(r.at) || now.Sub(r.at) >= r.maxAge() {
		return nil, false
	}
	return r.members, true
}

// rememberMembers keeps the members of group read at now, and forgets
// reads past their age (a group no query reads any more).
func (u *Upstream) rememberMembers(group string, members [][]string, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.groupReads == nil {
		u.groupReads = map[string]groupRead{}
	}
	for g, r := range u.groupReads {
		if now.Sub(r.at) >= r.maxAge() {
			delete(u.groupReads, g)
		}
	}
	u.groupReads[group] = groupRead{members: members, at: now}
}

// addMarks records this poll's log end of every partition it read.
func (p *poll) addMarks() {
	u := p.u
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.marks == nil {
		u.marks = map[tp]*partMarks{}
	}
	for k, o := range p.latest {
		if o.err != nil {
			continue
		}
		m := u.marks[k]
		if m == nil {
			m = &partMarks{}
			u.marks[k] = m
		}
		m.marks.Add(p.now, o.offset)
		m.last = p.now
	}
	for k, m := range u.marks {
		if p.now.Sub(m.last) > forgetCommitsAfter {
			delete(u.marks, k)
		}
	}
}

// flow estimates the query's rates and lag in seconds from its readings,
// folding this poll into the query's history.
func (p *poll) flow(q *query, rs []reading, consumers int) *sources.Flow {
	obs := lagtime.Observation{Time: p.now, Consumers: consumers}
	h := fnv.New64a()
	for _, r := range rs {
		obs.Produced += r.latest
		if r.committed >= 0 {
			obs.Consumed += r.committed
			obs.Lag += max(r.latest-r.committed, 0)
		}
		h.Write([]byte(r.topic))
		h.Write([]byte(strconv.FormatInt(int64(r.partition), 10)))
		h.Write([]byte(strconv.FormatBool(r.committed >= 0)))
	}
	obs.Shape = h.Sum64()

	u := p.u
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.flows == nil {
		u.flows = map[string]*flowState{}
	}
	st := u.flows[q.key]
	if st == nil {
		st = &flowState{}
		u.flows[q.key] = st
	}
	for _, r := range rs {
		if r.committed < 0 {
			continue
		}
		if st.stalls.Observe(r.topic+"/"+strconv.Itoa(int(r.partition)), p.now, r.committed, r.latest-r.committed, lagtime.StallProbe) {
			obs.Stalled = true
		}
	}
	prev, seen := st.est.Last()
	st.est = st.est.Step(obs, lagtime.Config{})
	st.recent = st.recent.Add(p.now, obs.Produced, seen && prev.Shape != obs.Shape)
	recent := st.recent // a copy: the next poll's Add does not change it
	var held int
	st.members, held = st.members.Observe(p.now, consumers)
	st.last = p.now
	for k, s := range u.flows {
		if p.now.Sub(s.last) > forgetCommitsAfter {
			delete(u.flows, k)
		}
	}

	f := &sources.Flow{LagSecondsExact: true, Produced: st.est.ProduceRate, Consumed: st.est.ConsumeRate,
		PerConsumer: st.est.PerConsumerRate, Consumers: consumers, Members: held, Recent: &recent}
	if seen {
		f.LatestProduced, f.LatestKnown = lagtime.LatestProduceRate(prev, obs)
	}
	loads := make([]lagtime.PartLoad, len(rs))
	f.PartLoads = &loads
	for i, r := range rs {
		m := u.marks[tp{r.topic, r.partition}]
		if m != nil {
			loads[i].Rate, _ = m.marks.Rate(p.now, lagtime.SpreadWindow)
		}
		if r.committed < 0 || r.latest <= r.committed {
			continue
		}
		loads[i].Lag = float64(r.latest - r.committed)
		if m == nil {
			continue
		}
		age, exact := m.marks.Age(r.committed, p.now)
		if s := age.Seconds(); s > f.LagSeconds || (s == f.LagSeconds && !exact) {
			f.LagSeconds, f.LagSecondsExact = s, exact
		}
	}
	return f
}
