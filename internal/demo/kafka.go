package demo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaOptions describe the Kafka workload: a topic and a consumer group.
type KafkaOptions struct {
	Brokers      []string
	Topic, Group string
	Partitions   int32
	LagThreshold float64
	ConsumerRate float64 // messages per second one consumer processes
	RateScale    float64 // multiplies the phase rates
}

// kafkaWorkload simulates a consumer group: every replica processes up to
// ConsumerRate messages per second from the partitions assigned to it and
// commits its offsets, exactly as a real consumer would tell the broker.
type kafkaWorkload struct {
	o         KafkaOptions
	cl        *kgo.Client
	adm       *kadm.Client
	prod      budget
	seq       int
	committed map[int32]int64
	carry     []float64 // unused capacity carried between ticks, per replica
}

func newKafkaWorkload(ctx context.Context, o KafkaOptions) (*kafkaWorkload, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...), kgo.DefaultProduceTopic(o.Topic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	w := &kafkaWorkload{o: o, cl: cl, adm: kadm.NewClient(cl), committed: map[int32]int64{}}
	// The consumer group exists before the first message, as a deployed
	// consumer that joined and committed would leave it: every partition at
	// offset 0. Without it, "no committed offset" counts as lag 1 per
	// partition (KEDA's latest-policy semantics) and the demo would start active.
	offs := kadm.Offsets{}
	for p := range o.Partitions {
		offs.Add(kadm.Offset{Topic: o.Topic, Partition: p, At: 0, LeaderEpoch: -1})
	}
	if err := w.commit(ctx, offs); err != nil {
		cl.Close()
		return nil, err
	}
	return w, nil
}

func (w *kafkaWorkload) Name() string      { return w.o.Topic + " (kafka)" }
func (w *kafkaWorkload) Partitions() int32 { return w.o.Partitions }
func (w *kafkaWorkload) Close()            { w.cl.Close() }

func (w *kafkaWorkload) Triggers() []map[string]string {
	return []map[string]string{{
		"source": "kafka", "bootstrapServers": strings.Join(w.o.Brokers, ","),
		"consumerGroup": w.o.Group, "topic": w.o.Topic,
		"lagThreshold": strconv.FormatFloat(w.o.LagThreshold, 'g', -1, 64),
	}}
}

func (w *kafkaWorkload) Step(ctx context.Context, replicas int32, rate, dt float64) (int64, int64, int64, error) {
	// Consumers work through the backlog, then this tick's messages arrive:
	// the scaler sees what waits, as it would mid-stream.
	ends, err := w.endOffsets(ctx)
	if err != nil {
		return 0, 0, 0, err
	}
	consumed, err := w.consume(ctx, int(replicas), dt, ends)
	if err != nil {
		return 0, 0, 0, err
	}
	produced, err := w.produce(ctx, rate*w.o.RateScale, dt)
	if err != nil {
		return 0, 0, 0, err
	}
	if ends, err = w.endOffsets(ctx); err != nil {
		return 0, 0, 0, err
	}
	var lag int64
	for p, end := range ends {
		lag += max(0, end-w.committed[p])
	}
	return produced, consumed, lag, nil
}

func (w *kafkaWorkload) consume(ctx context.Context, replicas int, dt float64, ends map[int32]int64) (int64, error) {
	if replicas <= 0 {
		return 0, nil
	}
	if len(w.carry) != replicas {
		w.carry = make([]float64, replicas) // a rebalance: fresh assignment
	}
	// Round-robin assignment, as Kafka's assignors do for one topic:
	// replicas beyond the partition count sit idle.
	offs := kadm.Offsets{}
	var done int64
	for r := range replicas {
		capacity := w.o.ConsumerRate*dt + w.carry[r]
		for p := int32(r); p < w.o.Partitions; p += int32(replicas) {
			take := min(ends[p]-w.committed[p], int64(capacity))
			if take <= 0 {
				continue
			}
			capacity -= float64(take)
			w.committed[p] += take
			done += take
			offs.Add(kadm.Offset{Topic: w.o.Topic, Partition: p, At: w.committed[p], LeaderEpoch: -1})
		}
		w.carry[r] = min(capacity, w.o.ConsumerRate) // idle time is not banked forever
	}
	if len(offs) == 0 {
		return 0, nil
	}
	return done, w.commit(ctx, offs)
}

func (w *kafkaWorkload) produce(ctx context.Context, rate, dt float64) (int64, error) {
	n := w.prod.take(rate, dt)
	if n == 0 {
		return 0, nil
	}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		w.seq++
		recs[i] = &kgo.Record{Topic: w.o.Topic, Value: fmt.Appendf(nil, "order-%d", w.seq)}
	}
	if err := w.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return 0, fmt.Errorf("produce: %w", err)
	}
	return n, nil
}

func (w *kafkaWorkload) commit(ctx context.Context, offs kadm.Offsets) error {
	resp, err := w.adm.CommitOffsets(ctx, w.o.Group, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// endOffsets reads the log end offset of every partition.
func (w *kafkaWorkload) endOffsets(ctx context.Context) (map[int32]int64, error) {
	listed, err := w.adm.ListEndOffsets(ctx, w.o.Topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets: %w", err)
	}
	out := map[int32]int64{}
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out, nil
}
