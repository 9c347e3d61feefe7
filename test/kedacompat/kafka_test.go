package kedacompat

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kafkaEnv is the in-process fake Kafka cluster shared by the whole suite.
// Every test uses its own topics and consumer groups, so tests do not see
// each other's lag.
type kafkaEnv struct {
	cluster *kfake.Cluster
	client  *kgo.Client
	admin   *kadm.Client
}

func newKafkaEnv() (*kafkaEnv, error) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		return nil, fmt.Errorf("start kfake cluster: %w", err)
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(cluster.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	)
	if err != nil {
		cluster.Close()
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	return &kafkaEnv{cluster: cluster, client: client, admin: kadm.NewClient(client)}, nil
}

func (k *kafkaEnv) Close() {
	k.client.Close()
	k.cluster.Close()
}

// Bootstrap is the bootstrapServers value for trigger metadata.
func (k *kafkaEnv) Bootstrap() string { return strings.Join(k.cluster.ListenAddrs(), ",") }

var nameSeq atomic.Int64

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// uniqueName returns a Kafka-safe name unique within this run, derived from
// the test name so server logs are easy to match to tests.
func uniqueName(t testing.TB, prefix string) string {
	n := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(n) > 120 {
		n = n[len(n)-120:]
	}
	return prefix + "-" + strings.ToLower(n) + "-" + strconv.FormatInt(nameSeq.Add(1), 10)
}

func kctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// CreateTopic creates a topic with the given partition count.
func (k *kafkaEnv) CreateTopic(t testing.TB, topic string, partitions int32) {
	t.Helper()
	resp, err := k.admin.CreateTopic(kctx(t), partitions, -1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %q with %d partitions: %v", topic, partitions, err)
	}
}

// Produce writes perPartition[p] records to partition p of topic.
func (k *kafkaEnv) Produce(t testing.TB, topic string, perPartition []int) {
	t.Helper()
	var recs []*kgo.Record
	for p, n := range perPartition {
		for i := range n {
			recs = append(recs, &kgo.Record{
				Topic:     topic,
				Partition: int32(p),
				Value:     []byte(fmt.Sprintf("p%d-m%d", p, i)),
			})
		}
	}
	if len(recs) == 0 {
		return
	}
	if err := k.client.ProduceSync(kctx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records to %q: %v", len(recs), topic, err)
	}
}

// Commit commits offsets[p] for partition p of topic for group.
func (k *kafkaEnv) Commit(t testing.TB, group, topic string, offsets []int64) {
	t.Helper()
	var os kadm.Offsets
	for p, o := range offsets {
		os.AddOffset(topic, int32(p), o, -1)
	}
	if err := k.admin.CommitAllOffsets(kctx(t), group, os); err != nil {
		t.Fatalf("commit %v on %q for group %q: %v", offsets, topic, group, err)
	}
}

// Lag is the group's total lag on topic as Kafka itself reports it (log end
// minus committed, per partition). It fails the test if a partition has no
// commit, because every fixture here commits every partition.
func (k *kafkaEnv) Lag(t testing.TB, group, topic string) int64 {
	t.Helper()
	ctx := kctx(t)
	ends, err := k.admin.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("list end offsets of %q: %v", topic, err)
	}
	committed, err := k.admin.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of group %q: %v", group, err)
	}
	var lag int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", o.Topic, o.Partition, o.Err)
		}
		c, ok := committed.Lookup(o.Topic, o.Partition)
		if !ok || c.Err != nil {
			t.Fatalf("group %q has no commit for %s/%d (err %v)", group, o.Topic, o.Partition, c.Err)
		}
		lag += o.Offset - c.At
	})
	return lag
}

// spread splits n into parts nearly equal integers, larger ones first.
func spread(n, parts int) []int {
	out := make([]int, parts)
	for i := range out {
		out[i] = n / parts
		if i < n%parts {
			out[i]++
		}
	}
	return out
}

func toOffsets(counts []int) []int64 {
	out := make([]int64, len(counts))
	for i, c := range counts {
		out[i] = int64(c)
	}
	return out
}

// lagFixture is a topic and a consumer group with a known total lag.
type lagFixture struct {
	Topic      string
	Group      string
	Partitions int
	Produced   int
	Committed  int
}

// Lag is the total lag the fixture was built with.
func (f lagFixture) Lag() int64 { return int64(f.Produced - f.Committed) }

// NewLag creates a topic with partitions partitions, produces produced
// records spread evenly over them, and commits committed of them for a new
// group (every partition gets a commit, possibly at offset 0), so the
// group's total lag is produced - committed. It checks that Kafka agrees.
func (k *kafkaEnv) NewLag(t testing.TB, partitions, produced, committed int) lagFixture {
	t.Helper()
	if committed > produced {
		t.Fatalf("bad fixture: committed %d > produced %d", committed, produced)
	}
	f := lagFixture{
		Topic:      uniqueName(t, "topic"),
		Group:      uniqueName(t, "group"),
		Partitions: partitions,
		Produced:   produced,
		Committed:  committed,
	}
	k.CreateTopic(t, f.Topic, int32(partitions))
	k.Produce(t, f.Topic, spread(produced, partitions))
	// spread is monotone in n per partition, so every commit is at or
	// below its partition's end offset.
	k.Commit(t, f.Group, f.Topic, toOffsets(spread(committed, partitions)))
	if got := k.Lag(t, f.Group, f.Topic); got != f.Lag() {
		t.Fatalf("fixture: Kafka reports lag %d for group %q on %q, want %d", got, f.Group, f.Topic, f.Lag())
	}
	return f
}

// AddLag produces n more records to f's topic, spread over its partitions.
func (k *kafkaEnv) AddLag(t testing.TB, f *lagFixture, n int) {
	t.Helper()
	k.Produce(t, f.Topic, spread(n, f.Partitions))
	f.Produced += n
}
