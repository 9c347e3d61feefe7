package benchmarks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// discard is the logger handed to Tide: the benchmarks measure, they do not
// read logs.
var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// groups is the number of consumer groups every benchmark spreads its
// ScaledObjects over: N triggers share 10 queries.
const groups = 10

func groupName(g int) string { return fmt.Sprintf("group-%02d", g) }

// lagCluster is a 3-broker kfake cluster holding one topic whose lag per
// consumer group is known: every partition holds `records` records and
// group g has committed offset committedOffset(g) on every partition.
type lagCluster struct {
	*kfake.Cluster
	topic      string
	partitions int32
	records    int
}

// committedOffset is where group g has committed on every partition.
func (c *lagCluster) committedOffset(g int) int64 { return int64(g * c.records / (2 * groups)) }

// lag is the total lag of group g over the whole topic.
func (c *lagCluster) lag(g int) float64 {
	return float64(c.partitions) * float64(int64(c.records)-c.committedOffset(g))
}

func (c *lagCluster) bootstrap() string { return strings.Join(c.ListenAddrs(), ",") }

// startLagCluster starts the cluster, produces and commits with franz-go
// (kgo and kadm), then closes that client so that every request the brokers
// see afterwards comes from Tide. The cluster is closed at cleanup.
func startLagCluster(tb testing.TB, topic string, partitions int32, records int) *lagCluster {
	tb.Helper()
	kc, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		tb.Fatalf("kfake: %v", err)
	}
	tb.Cleanup(kc.Close)
	c := &lagCluster{Cluster: kc, topic: topic, partitions: partitions, records: records}

	cl, err := kgo.NewClient(
		kgo.SeedBrokers(kc.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
	)
	if err != nil {
		tb.Fatalf("kgo: %v", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	res, err := adm.CreateTopics(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		tb.Fatalf("create topic %s: %v", topic, err)
	}
	rs := make([]*kgo.Record, 0, int(partitions)*records)
	for p := range partitions {
		for range records {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("x")})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		tb.Fatalf("produce: %v", err)
	}
	for g := range groups {
		var os kadm.Offsets
		for p := range partitions {
			os.AddOffset(topic, p, c.committedOffset(g), -1)
		}
		if err := adm.CommitAllOffsets(ctx, groupName(g), os); err != nil {
			tb.Fatalf("commit %s: %v", groupName(g), err)
		}
	}
	return c
}

// Request kinds the broker-side counter tells apart.
const (
	reqMetadata = iota
	reqMetadataBrokersOnly
	reqFindCoordinator
	reqOffsetFetch
	reqListOffsets
	reqAPIVersions // the first request on every new connection
	reqOther
	reqKinds
)

// requestCounts is what the brokers received, by kind.
type requestCounts [reqKinds]int64

func (a requestCounts) sub(b requestCounts) requestCounts {
	for i := range a {
		a[i] -= b[i]
	}
	return a
}

// perPoll is the sum of the kinds a poll sends. Two kinds are left out and
// reported otherwise: the transport's own broker-list refresh (a Metadata
// request for no topic, on average every 5 s per client whatever the polls
// do) is time-driven, not poll-driven, and the README accounts for it per
// client; ApiVersions opens a connection, which the benchmark counts as
// connections.
func (a requestCounts) perPoll() int64 {
	return a[reqMetadata] + a[reqFindCoordinator] + a[reqOffsetFetch] + a[reqListOffsets] + a[reqOther]
}

// brokerCounter counts every request the cluster's brokers handle, from
// kfake's side, through a control function that observes and never
// answers (kfake then handles the request as usual).
type brokerCounter struct {
	mu     sync.Mutex
	counts requestCounts
}

func countRequests(c *lagCluster) *brokerCounter {
	bc := &brokerCounter{}
	c.ControlKey(-1, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		kind := reqOther
		switch r := req.(type) {
		case *kmsg.MetadataRequest:
			kind = reqMetadata
			if r.Topics != nil && len(r.Topics) == 0 {
				kind = reqMetadataBrokersOnly
			}
		case *kmsg.FindCoordinatorRequest:
			kind = reqFindCoordinator
		case *kmsg.OffsetFetchRequest:
			kind = reqOffsetFetch
		case *kmsg.ListOffsetsRequest:
			kind = reqListOffsets
		case *kmsg.ApiVersionsRequest:
			kind = reqAPIVersions
		}
		bc.mu.Lock()
		bc.counts[kind]++
		bc.mu.Unlock()
		return nil, nil, false
	})
	return bc
}

func (bc *brokerCounter) snapshot() requestCounts {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	return bc.counts
}
