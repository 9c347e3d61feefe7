package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
)

const (
	// maxLagCount bounds the entries one poll counts for one group whose
	// lag Redis cannot tell; beyond it the bound is reported with a note.
	maxLagCount = 10000
	// lagPage is the entries one XRANGE returns, bounding reply size.
	lagPage = 1000
)

const noteLagAtLeast = "Redis cannot tell the lag of consumer group %q on stream %q and more than %d entries wait: the lag is at least the value"

// lagCount counts the entries after a group's last-delivered ID, which is
// the lag by definition, when XINFO GROUPS answers a nil lag.
type lagCount struct {
	after  string // exclusive start of the next page
	first  string // the first entry counted: the oldest undelivered
	n      int64
	done   bool
	capped bool
	err    error
}

// needLagCount schedules a count for q's group, once per group.
func (p *poll) needLagCount(q *query, lastDelivered string) {
	if p.lags == nil {
		p.lags = map[streamGroup]*lagCount{}
	}
	sg := streamGroup{q.stream, q.group}
	if p.lags[sg] == nil {
		p.lags[sg] = &lagCount{after: lastDelivered}
	}
}

// secondRound reads what the first pipeline could not: the oldest
// undelivered entry of every group that resolveOldest left open, with
// XRANGE (last-delivered-id + COUNT 1, and the counts of lags Redis could
// not tell, paging with XRANGE (start + COUNT lagPage. A count's first page
// also yields its group's oldest entry, so no group is asked twice. All of
// a round's reads go in one pipeline: a poll takes a second round trip only
// when some group has undelivered entries in the middle of its stream (or
// an untold lag), and more only to page through counts, until each ends or
// reaches maxLagCount.
func (p *poll) secondRound(ctx context.Context) {
	heads := map[streamGroup]*goredis.XMessageSliceCmd{}
	for round := range maxLagCount/lagPage + 1 {
		pipe := p.u.client.Pipeline()
		if round == 0 {
			for sg, r := range p.groups {
				if r.err == nil && !r.resolved && p.lags[sg] == nil {
					heads[sg] = pipe.XRangeN(ctx, sg.stream, "("+r.g.lastDelivered, "+", 1)
				}
			}
		}
		sent := p.queueCounts(ctx, pipe)
		if len(sent) == 0 && (round > 0 || len(heads) == 0) {
			break
		}
		execPipe(ctx, pipe)
		if round == 0 {
			p.readHeads(heads)
		}
		p.readCounts(sent)
	}
	for sg, c := range p.lags {
		r := p.groups[sg]
		switch {
		case c.err != nil:
			r.notes = append(r.notes, fmt.Sprintf(noteNoHead, sg.group, sg.stream))
		case c.done:
			r.resolveHead(c.first)
			r.lag, r.lagOK = c.n, true
		}
	}
}

func (p *poll) readHeads(heads map[streamGroup]*goredis.XMessageSliceCmd) {
	for sg, cmd := range heads {
		r := p.groups[sg]
		msgs, err := cmd.Result()
		switch {
		case err != nil:
			r.notes = append(r.notes, fmt.Sprintf(noteNoHead, sg.group, sg.stream))
		case len(msgs) == 0:
			r.resolveHead("")
		default:
			r.resolveHead(msgs[0].ID)
		}
	}
}

// queueCounts queues the next page of every count not done.
func (p *poll) queueCounts(ctx context.Context, pipe goredis.Pipeliner) map[streamGroup]*goredis.XMessageSliceCmd {
	sent := map[streamGroup]*goredis.XMessageSliceCmd{}
	for sg, c := range p.lags {
		if !c.done {
			sent[sg] = pipe.XRangeN(ctx, sg.stream, "("+c.after, "+", lagPage)
		}
	}
	return sent
}

func (p *poll) readCounts(sent map[streamGroup]*goredis.XMessageSliceCmd) {
	for sg, cmd := range sent {
		c := p.lags[sg]
		msgs, err := cmd.Result()
		if err != nil {
			c.err, c.done = p.u.serverErr(fmt.Errorf("XRANGE %q: %w", sg.stream, err)), true
			continue
		}
		if c.n == 0 && len(msgs) > 0 {
			c.first = msgs[0].ID
		}
		c.n += int64(len(msgs))
		switch {
		case len(msgs) < lagPage:
			c.done = true
		case c.n >= maxLagCount:
			c.capped, c.done = true, true
		default:
			c.after = msgs[len(msgs)-1].ID
		}
	}
}

// finishLags holds the lag queries that waited for a count, for their Flow.
func (p *poll) finishLags() {
	for i, q := range p.queries {
		if _, held := p.held[i]; q == nil || q.kind != readLag || held {
			continue
		}
		c := p.lags[streamGroup{q.stream, q.group}]
		if c == nil || c.err != nil {
			err := fmt.Errorf("stream %q: consumer group %q: lag not counted", q.stream, q.group)
			if c != nil {
				err = c.err
			}
			p.fail(i, err)
			continue
		}
		s := streamSample(q.stream+"/"+q.group, float64(c.n), "lag counted with XRANGE")
		if c.capped {
			s.Notes = append(s.Notes, fmt.Sprintf(noteLagAtLeast, q.group, q.stream, maxLagCount))
		}
		p.hold(i, s)
	}
}
