package redis

import (
	"context"
	"fmt"
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

// countLags pages through every scheduled count with XRANGE (start, + COUNT
// lagPage, all groups' pages of a round in one pipeline, until each count
// ends or reaches maxLagCount.
func (p *poll) countLags(ctx context.Context) {
	for range maxLagCount/lagPage + 1 {
		pipe := p.u.client.Pipeline()
		sent := map[streamGroup]func() (int, string, error){}
		for sg, c := range p.lags {
			if c.done {
				continue
			}
			cmd := pipe.XRangeN(ctx, sg.stream, "("+c.after, "+", lagPage)
			sent[sg] = func() (int, string, error) {
				msgs, err := cmd.Result()
				if err != nil || len(msgs) == 0 {
					return 0, "", err
				}
				return len(msgs), msgs[len(msgs)-1].ID, nil
			}
		}
		if len(sent) == 0 {
			return
		}
		execPipe(ctx, pipe)
		for sg, read := range sent {
			c := p.lags[sg]
			n, last, err := read()
			switch {
			case err != nil:
				c.err, c.done = p.u.serverErr(fmt.Errorf("XRANGE %q: %w", sg.stream, err)), true
			case n < lagPage:
				c.n += int64(n)
				c.done = true
			default:
				c.n += int64(n)
				c.after = last
				if c.n >= maxLagCount {
					c.capped, c.done = true, true
				}
			}
		}
	}
}

// finishLags settles the lag queries that waited for a count.
func (p *poll) finishLags() {
	for i, q := range p.queries {
		if q == nil || q.kind != readLag {
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
			p.notes[i] = append(p.notes[i], fmt.Sprintf(noteLagAtLeast, q.group, q.stream, maxLagCount))
		}
		p.settle(i, s, nil)
	}
}
