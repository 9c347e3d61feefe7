package kafka

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// noteGoneTopic is a note a sample may carry; the engine logs each once per
// query.
const noteGoneTopic = "consumer group has committed offsets for topic %q, which does not exist: ignored"

// errNothingToMeasure fails a topic-less query whose group has no commits on
// any existing topic. Its lag is unknown, not zero: a zero would scale the
// consumers away (or keep them at zero, where they never commit), silently.
var errNothingToMeasure = fmt.Errorf("has no committed offsets on any existing topic and the trigger sets no topic, so its lag is unknown (set topic): %w", sources.ErrNotFound)

// Poll reads every query in one batched round: topic metadata (cached),
// one OffsetFetch per consumer group, then one ListOffsets per partition
// leader (two when log start offsets are needed). It returns one Result per
// query, in order. A failure of one topic or group fails only the queries
// that read it; a cluster that cannot be reached fails them all.
func (u *Upstream) Poll(ctx context.Context, now time.Time, queries []sources.Query) []sources.Result {
	u.stats.polls.Add(1)
	p := &poll{
		u:       u,
		now:     now,
		queries: make([]*query, len(queries)),
		results: make([]sources.Result, len(queries)),
		topics:  make([][]string, len(queries)),
		notes:   make([][]string, len(queries)),
		meta:    map[string]topicMeta{},
		commits: map[string]groupCommits{},
		latest:  map[tp]offsetAt{},
		early:   map[tp]offsetAt{},
	}
	for i, sq := range queries {
		q, ok := sq.(*query)
		if !ok || q.cluster.endpoint.Key != u.cluster.endpoint.Key {
			p.results[i].Err = fmt.Errorf("query %q is not for upstream %s", sq.Key(), u.cluster.endpoint.Name)
			continue
		}
		p.queries[i], p.topics[i] = q, q.topics
	}
	p.run(ctx)
	return p.results
}

// poll is the state of one Poll call. Queries that fail are set to nil.
type poll struct {
	u       *Upstream
	now     time.Time
	queries []*query
	results []sources.Result
	topics  [][]string // per query: the topics it reads
	notes   [][]string
	meta    map[string]topicMeta
	cached  bool // some metadata came from the cache, not this poll
	commits map[string]groupCommits
	latest  map[tp]offsetAt
	early   map[tp]offsetAt
	// members of the groups lagTarget queries read, per member its
	// assigned topics; memberErrs when DescribeGroups failed.
	members    map[string][][]string
	memberErrs map[string]error
}

func (p *poll) run(ctx context.Context) {
	if err := p.loadMetadata(ctx, p.watched(), false); err != nil {
		p.failAll(err)
		return
	}
	p.failMissingTopics()
	p.fetchCommits(ctx)
	if err := p.resolveTopics(ctx); err != nil {
		p.failAll(err)
		return
	}
	wait := p.describeGroups(ctx)
	p.readOffsets(ctx)
	wait()
	p.finish()
}

// fail records err for query i and drops it from the rest of the poll.
func (p *poll) fail(i int, err error) {
	p.results[i].Err = err
	p.queries[i] = nil
}

// failAll fails every remaining query with an error of the whole cluster.
func (p *poll) failAll(err error) {
	for i, q := range p.queries {
		if q != nil {
			p.fail(i, err)
		}
	}
}

// watched is the sorted union of the topics the live queries read.
func (p *poll) watched() []string {
	set := map[string]struct{}{}
	for i, q := range p.queries {
		if q != nil {
			for _, t := range p.topics[i] {
				set[t] = struct{}{}
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func (p *poll) loadMetadata(ctx context.Context, topics []string, force bool) error {
	if len(topics) == 0 {
		return nil
	}
	m, fromCache, err := p.u.topicMetadata(ctx, p.now, topics, force)
	if err != nil {
		return err
	}
	maps.Copy(p.meta, m)
	p.cached = p.cached || fromCache
	return nil
}

// failMissingTopics fails queries that name a topic that cannot be read.
func (p *poll) failMissingTopics() {
	for i, q := range p.queries {
		if q == nil {
			continue
		}
		for _, t := range p.topics[i] {
			if err := p.meta[t].err; err != nil {
				p.fail(i, err)
				break
			}
		}
	}
}

// fetchCommits sends one OffsetFetch per group, all groups at once. A group
// with any topic-less query asks for every committed topic; otherwise for
// the partitions of the topics its queries name.
func (p *poll) fetchCommits(ctx context.Context) {
	type plan struct {
		all    bool
		topics map[string][]int
	}
	plans := map[string]*plan{}
	for i, q := range p.queries {
		if q == nil {
			continue
		}
		pl := plans[q.group]
		if pl == nil {
			pl = &plan{topics: map[string][]int{}}
			plans[q.group] = pl
		}
		pl.all = pl.all || len(q.topics) == 0
		for _, t := range p.topics[i] {
			if _, done := pl.topics[t]; !done {
				for _, pm := range p.meta[t].partitions {
					pl.topics[t] = append(pl.topics[t], int(pm.id))
				}
			}
		}
	}
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for group, pl := range plans {
		topics := pl.topics
		if pl.all {
			topics = nil
		}
		wg.Go(func() {
			c, err := p.u.fetchCommits(ctx, group, topics)
			mu.Lock()
			defer mu.Unlock()
			p.commits[group], errs[group] = c, err
		})
	}
	wg.Wait()
	for i, q := range p.queries {
		if q != nil && errs[q.group] != nil {
			p.fail(i, fmt.Errorf("consumer group %q: %w", q.group, errs[q.group]))
		}
	}
}

// resolveTopics gives each topic-less query the topics its group has
// committed offsets for, never every topic of the cluster, and reads their
// metadata. Committed topics that no longer exist are skipped with a note:
// brokers drop the commits of a deleted topic, but not in the same step as
// the deletion (and a group may have commits for a topic it never reads
// again), so failing the whole query for them would stop scaling on the
// topics that matter.
func (p *poll) resolveTopics(ctx context.Context) error {
	var need []string
	for i, q := range p.queries {
		if q == nil || len(q.topics) > 0 {
			continue
		}
		for t, ps := range p.commits[q.group] {
			if len(ps) > 0 {
				p.topics[i] = append(p.topics[i], t)
				if _, ok := p.meta[t]; !ok {
					need = append(need, t)
				}
			}
		}
		slices.Sort(p.topics[i])
	}
	slices.Sort(need)
	if err := p.loadMetadata(ctx, slices.Compact(need), false); err != nil {
		return err
	}
	for i, q := range p.queries {
		if q == nil || len(q.topics) > 0 {
			continue
		}
		kept := p.topics[i][:0]
		for _, t := range p.topics[i] {
			switch err := p.meta[t].err; {
			case err == nil:
				kept = append(kept, t)
			case isNotFound(err):
				p.notes[i] = append(p.notes[i], fmt.Sprintf(noteGoneTopic, t))
			default:
				p.fail(i, err)
			}
		}
		p.topics[i] = kept
		if p.queries[i] != nil && len(kept) == 0 {
			p.fail(i, fmt.Errorf("consumer group %q %w", q.group, errNothingToMeasure))
		}
	}
	return nil
}

// selected calls fn for every partition query i reads.
func (p *poll) selected(i int, fn func(topic string, pm partitionMeta)) {
	q := p.queries[i]
	for _, t := range p.topics[i] {
		for _, pm := range p.meta[t].partitions {
			if q.partitions.contains(pm.id) {
				fn(t, pm)
			}
		}
	}
}

// committed is the group's commit of a partition, noCommit when absent.
func (p *poll) committed(group string, t tp) commit {
	if c, ok := p.commits[group][t.topic][t.partition]; ok {
		return c
	}
	return commit{offset: noCommit}
}

func notFound(topic string) error { return fmt.Errorf("topic %q: %w", topic, sources.ErrNotFound) }
