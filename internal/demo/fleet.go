package demo

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fleet simulates a consumer group: every replica processes up to `rate`
// messages per second from the partitions assigned to it and commits its
// offsets, exactly as a real consumer would tell the broker.
type fleet struct {
	adm        *kadm.Client
	topic      string
	group      string
	partitions int32
	rate       float64 // messages per second per replica

	committed map[int32]int64
	carry     []float64 // fractional capacity carried between ticks, per replica
}

func newFleet(adm *kadm.Client, topic, group string, partitions int32, rate float64) *fleet {
	return &fleet{adm: adm, topic: topic, group: group, partitions: partitions, rate: rate,
		committed: map[int32]int64{}}
}

// commitStart commits offset 0 on every partition.
func (f *fleet) commitStart(ctx context.Context) error {
	offs := kadm.Offsets{}
	for p := range f.partitions {
		offs.Add(kadm.Offset{Topic: f.topic, Partition: p, At: 0, LeaderEpoch: -1})
	}
	return f.commit(ctx, offs)
}

func (f *fleet) commit(ctx context.Context, offs kadm.Offsets) error {
	resp, err := f.adm.CommitOffsets(ctx, f.group, offs)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if err := resp.Error(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// step lets `replicas` consumers work for dt seconds against the given end
// offsets; it returns how many messages they processed.
func (f *fleet) step(ctx context.Context, replicas int, dt float64, ends map[int32]int64) (int64, error) {
	if replicas <= 0 {
		return 0, nil
	}
	if len(f.carry) != replicas {
		f.carry = make([]float64, replicas) // a rebalance: fresh assignment
	}
	// Round-robin assignment, as Kafka's range/round-robin assignors do for
	// one topic: replicas beyond the partition count sit idle.
	offs := kadm.Offsets{}
	var done int64
	for r := range replicas {
		budget := f.rate*dt + f.carry[r]
		for p := int32(r); p < f.partitions; p += int32(replicas) {
			lag := ends[p] - f.committed[p]
			take := min(lag, int64(budget))
			if take <= 0 {
				continue
			}
			budget -= float64(take)
			f.committed[p] += take
			done += take
			offs.Add(kadm.Offset{Topic: f.topic, Partition: p, At: f.committed[p], LeaderEpoch: -1})
		}
		f.carry[r] = min(budget, f.rate) // unused time is not banked forever
	}
	if len(offs) == 0 {
		return 0, nil
	}
	if err := f.commit(ctx, offs); err != nil {
		return 0, err
	}
	return done, nil
}

// producer writes `rate` messages per second spread over all partitions.
type producer struct {
	cl    *kgo.Client
	topic string
	carry float64
	seq   int
}

func (p *producer) step(ctx context.Context, rate, dt float64) (int, error) {
	n := rate*dt + p.carry
	count := int(n)
	p.carry = n - float64(count)
	if count == 0 {
		return 0, nil
	}
	recs := make([]*kgo.Record, count)
	for i := range recs {
		p.seq++
		recs[i] = &kgo.Record{Topic: p.topic, Value: fmt.Appendf(nil, "order-%d", p.seq)}
	}
	if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return 0, fmt.Errorf("produce: %w", err)
	}
	return count, nil
}

// endOffsets reads the log end offset of every partition of topic.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	if err := listed.Error(); err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}

// totalLag is the true lag of the fleet, computed by the demo itself so the
// view can show it next to what the scaler reports.
func (f *fleet) totalLag(ends map[int32]int64) int64 {
	var sum int64
	for p, end := range ends {
		sum += max(0, end-f.committed[p])
	}
	return sum
}
