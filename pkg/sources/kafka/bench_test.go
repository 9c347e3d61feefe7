package kafka

import (
	"context"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// BenchmarkPoll1000Partitions compares one lag read of a 1000-partition
// topic by our Upstream (one ListOffsets per leader) with the same read
// through kafka-go's Client, which sends one ListOffsets per partition.
func BenchmarkPoll1000Partitions(b *testing.B) { benchmarkPoll(b, 1000) }

// BenchmarkPoll10000Partitions is the same with 10000 partitions.
func BenchmarkPoll10000Partitions(b *testing.B) { benchmarkPoll(b, 10000) }

func benchmarkPoll(b *testing.B, partitions int32) {
	c := startCluster(b)
	c.createTopic(b, partitions, "bench")
	// Commits are seeded with one OffsetCommit: a kafka-go group Reader on
	// this many partitions stalls against kfake.
	offs := make(map[int32]int64, partitions)
	for p := range partitions {
		offs[p] = 0
	}
	c.commit(b, "bench", map[string]map[int32]int64{"bench": offs})
	tr := mustParse(b, c, map[string]string{"consumerGroup": "bench", "topic": "bench"})

	b.Run("tide", func(b *testing.B) {
		u := open(b, tr)
		qs := []sources.Query{tr.Query()}
		ctx := context.Background()
		if r := u.Poll(ctx, t0, qs)[0]; r.Err != nil { // connections and metadata
			b.Fatal(r.Err)
		}
		before := u.Stats()
		for b.Loop() {
			// A constant poll time keeps metadata cached, as between the
			// 30 s refreshes of a running scaler.
			if r := u.Poll(ctx, t0, qs)[0]; r.Err != nil {
				b.Fatal(r.Err)
			}
		}
		after := u.Stats()
		n := float64(after.Polls - before.Polls)
		b.ReportMetric(float64(after.ListOffsetsRequests-before.ListOffsetsRequests)/n, "listoffsets/op")
		b.ReportMetric(float64(after.OffsetFetchRequests-before.OffsetFetchRequests)/n, "offsetfetch/op")
	})

	b.Run("kafka-go-per-partition", func(b *testing.B) {
		tport := &kafkago.Transport{}
		b.Cleanup(tport.CloseIdleConnections)
		cl := &kafkago.Client{Addr: kafkago.TCP(c.ListenAddrs()...), Transport: tport}
		ids := make([]int, partitions)
		reqs := make([]kafkago.OffsetRequest, partitions)
		for p := range ids {
			ids[p] = p
			reqs[p] = kafkago.LastOffsetOf(p)
		}
		ctx := context.Background()
		read := func() {
			if _, err := cl.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: "bench", Topics: map[string][]int{"bench": ids}}); err != nil {
				b.Fatal(err)
			}
			res, err := cl.ListOffsets(ctx, &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{"bench": reqs}})
			if err != nil {
				b.Fatal(err)
			}
			if got := len(res.Topics["bench"]); got != int(partitions) {
				b.Fatalf("%d partitions answered", got)
			}
		}
		read()
		for b.Loop() {
			read()
		}
		b.ReportMetric(float64(partitions), "listoffsets/op")
	})
}

// BenchmarkEvaluateCapped times the per-RPC evaluation of a capped lag, with
// the cap computed afresh each time as the baseline.
func BenchmarkEvaluateCapped(b *testing.B) {
	tr, err := Parse(metadata.Metadata{"bootstrapServers": "b:9092", "consumerGroup": "g", "topic": "t", "lagThreshold": "10"}, testPolicy)
	if err != nil {
		b.Fatal(err)
	}
	s := sources.Sample{Value: 105, Activity: 105, Capacity: 10}
	b.Run("memo", func(b *testing.B) {
		for b.Loop() {
			tr.Evaluate(s)
		}
	})
	b.Run("baseline=CapValue-each-call", func(b *testing.B) {
		for b.Loop() {
			hpa.CapValue(s.Capacity, 10)
		}
	})
}
