package redis

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/tide-scaler/tide/pkg/lagtime"
	"github.com/tide-scaler/tide/pkg/sources"
)

// flowConfig tunes the rate estimator for streams. A consumer group's
// entries-read advances at every XREADGROUP, as entries are delivered,
// where a Kafka group's committed offset advances in steps of the commit
// interval (5 s by default). The estimator reads lag below two commit
// intervals of throughput as commit spacing rather than a backlog, so the
// Kafka default would hide a real backlog of up to ten seconds; a second
// covers delivery in batches (XREADGROUP COUNT) read about once a second.
// Consumers that read large batches and work on them for longer advance
// entries-read in steps of that length, like commits, and the per-consumer
// rate is then learned less often (see lagtime.Estimate.Step).
var flowConfig = lagtime.Config{CommitInterval: time.Second}

// Notes a stream-with-group sample may carry about its Flow.
const (
	noteNoRates      = "Redis before 7 counts neither the entries added to stream %q nor those read by consumer group %q: lag in seconds only, no rates"
	noteNoStreamInfo = "XINFO STREAM %q failed: no rates for consumer group %q"
	noteNoConsumers  = "XINFO CONSUMERS %q %q failed: every registered consumer counts, idle ones too"
	noteNoGroupInfo  = "XINFO GROUPS %q failed: no lag in seconds or rates for consumer group %q"
	noteNoHead       = "XRANGE for the oldest undelivered entry of consumer group %q on stream %q failed: lag in seconds is a lower bound"
)

// groupRead is what one poll learned about one consumer group, shared by
// every query that reads the group: the makings of its Flow.
type groupRead struct {
	err  error // XINFO GROUPS failed or has no such group
	g    groupInfo
	info streamInfo
	// infoOK is false when XINFO STREAM failed: no rates this poll.
	infoOK bool
	// active counts the consumers that read recently (see activeIdle).
	active int
	// oldest is the ID of the oldest entry not yet delivered to the group,
	// once resolved; none means there is no such entry.
	oldest         streamID
	resolved, none bool
	// lag is the group's lag for the estimator: Redis's, or the XRANGE
	// count of a lag query when Redis cannot tell it.
	lag   int64
	lagOK bool
	notes []string
}

// resolveOldest settles the oldest undelivered entry from the first
// pipeline where it can, so that only a group in the middle of its stream
// needs the second round's XRANGE: its last-delivered-id comes in the same
// pipeline as the XRANGE would, and Redis offers no way to read "the entry
// after the group's position" without knowing the position first, except a
// script (which this package does not use).
//
// XINFO GROUPS is queued before XINFO STREAM, so an entry added between the
// two is after the group's position, as it is in fact.
func (r *groupRead) resolveOldest() {
	last, okLast := parseID(r.g.lastDelivered)
	gen, okGen := parseID(r.info.lastGenerated)
	first, okFirst := parseID(r.info.firstEntry)
	switch {
	case r.g.lagKnown && r.g.lag == 0:
		r.resolved, r.none = true, true
	case !r.infoOK || !okLast:
		// Leave it to XRANGE.
	case r.info.length == 0 || (okGen && !last.less(gen)):
		r.resolved, r.none = true, true
	case okFirst && last.less(first):
		// Everything left in the stream is undelivered (a new group, or
		// one that fell behind trimming): the oldest is the first entry.
		r.oldest, r.resolved = first, true
	}
}

// resolveHead settles the oldest undelivered entry from the first ID an
// XRANGE after the group's position returned, "" for none.
func (r *groupRead) resolveHead(id string) {
	if id == "" {
		r.resolved, r.none = true, true
		return
	}
	if r.oldest, r.resolved = parseID(id); !r.resolved {
		r.notes = append(r.notes, fmt.Sprintf("entry ID %q is not <ms>-<seq>: no lag in seconds", id))
	}
}

// readGroup parses the first pipeline's replies about q's group once per
// poll. The error is the query's when XINFO GROUPS is what it measures by.
func (p *poll) readGroup(q *query) *groupRead {
	sg := streamGroup{q.stream, q.group}
	if r := p.groups[sg]; r != nil {
		return r
	}
	r := &groupRead{}
	p.groups[sg] = r
	v, err := p.streams.groups[q.stream].Result()
	if err != nil {
		r.err = p.u.serverErr(fmt.Errorf("XINFO GROUPS %q: %w", q.stream, err))
		return r
	}
	groups, err := parseGroups(v)
	if err != nil {
		r.err = p.u.serverErr(fmt.Errorf("XINFO GROUPS %q: %w", q.stream, err))
		return r
	}
	g, ok := findGroup(groups, q.group)
	if !ok {
		r.err = groupNotFound(q)
		return r
	}
	r.g, r.lag, r.lagOK = g, g.lag, g.lagKnown
	if v, err := p.streams.infos[q.stream].Result(); err == nil {
		r.info, err = parseStreamInfo(v)
		r.infoOK = err == nil
	}
	switch {
	case !r.infoOK:
		r.notes = append(r.notes, fmt.Sprintf(noteNoStreamInfo, q.stream, q.group))
	case !r.info.addedKnown:
		r.notes = append(r.notes, fmt.Sprintf(noteNoRates, q.stream, q.group))
	}
	v, err = p.streams.members[sg].Result()
	n := 0
	if err == nil {
		n, err = parseConsumers(v)
	}
	if r.active = n; err != nil {
		r.active = int(g.consumers)
		r.notes = append(r.notes, fmt.Sprintf(noteNoConsumers, q.stream, q.group))
	}
	r.resolveOldest()
	return r
}

// observation is the estimator's reading of the group, false when this poll
// cannot give one (Redis < 7, a failed XINFO STREAM, a lag nobody could
// tell). Produced is entries-added; Consumed is entries-read, or, while
// Redis answers it nil, entries-added minus Redis's lag, which is the same
// number by Redis's own definition of the lag. Which of the two it is goes
// into the Shape, so the estimator never takes the difference of one and
// the other for throughput.
func (r *groupRead) observation(q *query, now time.Time) (lagtime.Observation, bool) {
	if !r.infoOK || !r.info.addedKnown || !r.lagOK {
		return lagtime.Observation{}, false
	}
	consumed, source := r.g.entriesRead, "entries-read"
	if !r.g.readKnown {
		if !r.g.lagKnown {
			return lagtime.Observation{}, false
		}
		consumed, source = r.info.entriesAdded-r.g.lag, "entries-added-lag"
	}
	h := fnv.New64a()
	for _, s := range []string{q.stream, q.group, source} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return lagtime.Observation{Time: now, Produced: r.info.entriesAdded, Consumed: consumed,
		Lag: r.lag, Consumers: r.active, Shape: h.Sum64()}, true
}

// flowState is one query's rate estimate across polls.
type flowState struct {
	est  lagtime.Estimate
	used time.Time // latest poll that read the query
}

// flow folds this poll's reading of r into q's estimate and returns the
// query's Flow. LagSeconds is exact whenever the oldest undelivered entry
// was found, from its ID; it is 0 and a lower bound only when the XRANGE
// that looks for it failed.
func (p *poll) flow(q *query, r *groupRead) *sources.Flow {
	f := &sources.Flow{Consumers: r.active, LagSecondsExact: r.resolved}
	if r.resolved && !r.none {
		f.LagSeconds = ageOf(r.oldest, p.now)
	}
	st := p.u.flows[q.key]
	if st == nil {
		st = &flowState{}
		p.u.flows[q.key] = st
	}
	st.used = p.now
	if obs, ok := r.observation(q, p.now); ok {
		st.est = st.est.Step(obs, flowConfig)
	}
	f.Produced, f.Consumed, f.PerConsumer = st.est.ProduceRate, st.est.ConsumeRate, st.est.PerConsumerRate
	return f
}

// hold keeps the sample of a stream-with-group query until its Flow is
// known, after the second round.
func (p *poll) hold(i int, s sources.Sample) {
	if p.held == nil {
		p.held = map[int]sources.Sample{}
	}
	p.held[i] = s
}

// finishGroups gives every held sample its Flow and settles it.
func (p *poll) finishGroups() {
	for i, s := range p.held {
		q := p.queries[i]
		if q == nil {
			continue
		}
		r := p.groups[streamGroup{q.stream, q.group}]
		if r != nil && r.err == nil {
			s.Flow = p.flow(q, r)
			s.Notes = append(s.Notes, r.notes...)
		}
		p.settle(i, s, nil)
	}
}
