package kafka

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tide-scaler/tide/pkg/sources"
)

// BenchmarkActivationProbe measures what one activation probe of S idle
// queries (S consumer groups on one 12-partition topic of a 3-broker
// cluster, as in benchmarks/compare) sends to the brokers, counted by the
// brokers, and the broker requests per minute that makes at the default
// 250 ms probe interval. The probe's latency bound is the probe interval
// (plus one poll of the woken queries); its cost is per leader, not per
// query.
func BenchmarkActivationProbe(b *testing.B) {
	for _, s := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("S=%d", s), func(b *testing.B) {
			c := startCluster(b)
			groups := make([]string, s)
			for i := range groups {
				groups[i] = fmt.Sprintf("g%d", i)
			}
			offs := map[int32]int64{}
			for p := range int32(12) {
				offs[p] = 0
			}
			c.createTopic(b, 12, "t")
			trs := make([]*Trigger, s)
			qs := make([]sources.Query, s)
			for i, g := range groups {
				c.commit(b, g, map[string]map[int32]int64{"t": offs})
				trs[i] = mustParse(b, c, map[string]string{"consumerGroup": g, "topic": "t"})
				qs[i] = trs[i].Query()
			}
			u := open(b, trs[0])
			for _, r := range u.Poll(ctxT(b), t0, qs) {
				if r.Err != nil {
					b.Fatal(r.Err)
				}
			}
			bc := countRequests(c, int16(kmsg.ListOffsets), int16(kmsg.OffsetFetch), int16(kmsg.Metadata),
				int16(kmsg.DescribeGroups), int16(kmsg.FindCoordinator))
			probes := 0
			for b.Loop() {
				if _, err := u.Probe(ctxT(b), t0, qs); err != nil {
					b.Fatal(err)
				}
				probes++
			}
			total := 0
			for _, k := range []kmsg.Key{kmsg.ListOffsets, kmsg.OffsetFetch, kmsg.Metadata, kmsg.DescribeGroups, kmsg.FindCoordinator} {
				n, _ := bc.snapshot(int16(k))
				total += n
			}
			perProbe := float64(total) / float64(probes)
			b.ReportMetric(perProbe, "brokerreqs/probe")
			b.ReportMetric(perProbe*float64(time.Minute/(250*time.Millisecond)), "brokerreqs/min@250ms")
		})
	}
}
