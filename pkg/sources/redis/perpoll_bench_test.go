package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/sources"
)

// kedaCommandsPerMin is what KEDA's redis scaler sends for n ScaledObjects
// of one list each, at KEDA's defaults: one observation per HPA sync (15 s)
// and one per pollingInterval (30 s), each an EVAL that runs TYPE and LLEN,
// which INFO commandstats counts as three commands.
func kedaCommandsPerMin(n int) float64 { return 3 * float64(n) * (60.0/15 + 60.0/30) }

// BenchmarkPollScaledObjects polls n one-list queries on a real
// redis-server, as n ScaledObjects of KEDA's redis trigger would have Tide
// do: list i holds i%20 entries (so one in twenty does not exist), as in
// benchmarks/compare. Polls are 2 s apart in poll time (Tide's default
// interval). Reported per poll: commands (INFO commandstats on the server,
// by name), TYPE commands, commands/min at a 2 s interval, and KEDA's
// commands/min over Tide's (x-fewer-than-keda, above 1 is fewer).
//
// static: the lists do not change. changing: every list gets one more entry
// before every poll (untimed), the worst case for adaptive polling.
func BenchmarkPollScaledObjects(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, mode := range []string{"static", "changing"} {
			b.Run(fmt.Sprintf("lists=%d/%s", n, mode), func(b *testing.B) {
				benchmarkScaledObjects(b, n, mode == "changing")
			})
		}
	}
}

func benchmarkScaledObjects(b *testing.B, n int, changing bool) {
	srv := testredis.Start(b, testredis.Config{})
	ctx := context.Background()
	pipe := srv.Client().Pipeline()
	for i := range n {
		for j := range i % 20 {
			pipe.RPush(ctx, fmt.Sprintf("so:%05d", i), j)
		}
		if pipe.Len() >= 1000 || i == n-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	qs := make([]sources.Query, n)
	var u *Upstream
	for i := range qs {
		tr := mustParse(b, srv, map[string]string{"listName": fmt.Sprintf("so:%05d", i)})
		qs[i] = tr.Query()
		if u == nil {
			u = open(b, tr)
		}
	}
	now := t0
	poll := func() {
		for i, r := range u.Poll(ctx, now, qs) {
			if r.Err != nil {
				b.Fatalf("query %d: %v", i, r.Err)
			}
		}
		now = now.Add(2 * time.Second)
	}
	grow := func() {
		b.StopTimer()
		p := srv.Client().Pipeline()
		for i := range n {
			p.RPush(ctx, fmt.Sprintf("so:%05d", i), "x")
			if p.Len() >= 1000 || i == n-1 {
				if _, err := p.Exec(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StartTimer()
	}
	// Warm: types learned, a minute of poll time so any pace settles.
	for range 30 {
		poll()
	}
	before := commandStats(b, srv)
	polls := 0
	for b.Loop() {
		if changing {
			grow()
		}
		poll()
		polls++
	}
	after := commandStats(b, srv)
	total := 0.0
	for name, c := range after {
		if name != "rpush" {
			total += float64(c - before[name])
		}
	}
	per := total / float64(polls)
	b.ReportMetric(per, "commands/poll")
	b.ReportMetric(float64(after["type"]-before["type"])/float64(polls), "type/poll")
	b.ReportMetric(per*30, "commands/min")
	b.ReportMetric(kedaCommandsPerMin(n)/(per*30), "x-fewer-than-keda")
}

// commandStats reads INFO commandstats: calls by lower-case command name,
// without INFO itself.
func commandStats(tb testing.TB, srv *testredis.Server) map[string]int64 {
	tb.Helper()
	s, err := srv.Client().Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int64{}
	for line := range strings.SplitSeq(s, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		if name == "info" {
			continue
		}
		for kv := range strings.SplitSeq(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				out[name], _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return out
}
