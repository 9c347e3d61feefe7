package redis

import (
	"context"
	"fmt"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/sources"
)

// BenchmarkPoll1000Lists compares one poll of 1,000 lists on one real
// server by our Upstream (pipelines of at most 1,000 commands) with the
// same depths read by LLEN one key at a time, one round trip each. The
// baseline's x-tide metric is how many times slower it is than our poll.
func BenchmarkPoll1000Lists(b *testing.B) { benchmarkPoll(b, 1000) }

// BenchmarkPoll10000Lists is the same with 10,000 lists.
func BenchmarkPoll10000Lists(b *testing.B) { benchmarkPoll(b, 10000) }

func benchmarkPoll(b *testing.B, lists int) {
	srv := testredis.Start(b, testredis.Config{})
	fillLists(b, srv, "bench:", lists)
	names := make([]string, lists)
	for i := range names {
		names[i] = fmt.Sprintf("bench:%d", i)
	}
	tr := mustParse(b, srv, map[string]string{"listName": strings.Join(names, ",")})
	ctx := context.Background()
	var tideNs float64

	b.Run("tide", func(b *testing.B) {
		u := open(b, tr)
		qs := []sources.Query{tr.Query()}
		if r := u.Poll(ctx, t0, qs)[0]; r.Err != nil { // connection and types
			b.Fatal(r.Err)
		}
		before := u.Stats()
		for b.Loop() {
			if r := u.Poll(ctx, t0, qs)[0]; r.Err != nil || r.Sample.Value != float64(lists) {
				b.Fatalf("%v %v", r.Sample.Value, r.Err)
			}
		}
		d := delta(before, u.Stats())
		b.ReportMetric(float64(d.RoundTrips)/float64(d.Polls), "roundtrips/op")
		b.ReportMetric(float64(d.Commands)/float64(d.Polls), "commands/op")
		tideNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})

	b.Run("llen-one-by-one", func(b *testing.B) {
		c := goredis.NewClient(&goredis.Options{Addr: srv.Addr, Protocol: 2, DisableIdentity: true})
		b.Cleanup(func() { _ = c.Close() })
		read := func() {
			total := int64(0)
			for _, k := range names {
				n, err := c.LLen(ctx, k).Result()
				if err != nil {
					b.Fatal(err)
				}
				total += n
			}
			if total != int64(lists) {
				b.Fatalf("total %d", total)
			}
		}
		read()
		for b.Loop() {
			read()
		}
		b.ReportMetric(float64(lists), "roundtrips/op")
		if tideNs > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/tideNs, "x-tide")
		}
	})
}
