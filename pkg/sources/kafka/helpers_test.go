package kafka

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// t0 is the poll time tests use; nothing in the package reads the clock.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// testCluster is a kfake cluster with a franz-go admin client to set it up.
type testCluster struct {
	*kfake.Cluster
	kgo   *kgo.Client
	admin *kadm.Client
}

func startCluster(t testing.TB, opts ...kfake.Opt) *testCluster {
	return startClusterWith(t, nil, opts...)
}

// startClusterWith starts a 3-broker cluster; clientOpts configure the
// admin client (TLS, SASL).
func startClusterWith(t testing.TB, clientOpts []kgo.Opt, opts ...kfake.Opt) *testCluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3)}, opts...)...)
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
	}, clientOpts...)...)
	if err != nil {
		t.Fatalf("kgo: %v", err)
	}
	t.Cleanup(cl.Close)
	return &testCluster{Cluster: c, kgo: cl, admin: kadm.NewClient(cl)}
}

func (c *testCluster) bootstrap() string { return strings.Join(c.ListenAddrs(), ",") }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (c *testCluster) createTopic(t testing.TB, partitions int32, names ...string) {
	t.Helper()
	res, err := c.admin.CreateTopics(ctxT(t), partitions, 1, nil, names...)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		t.Fatalf("create topics %v: %v", names, err)
	}
}

// produce writes counts[p] records to each partition p of topic.
func (c *testCluster) produce(t testing.TB, topic string, counts map[int32]int) {
	t.Helper()
	var rs []*kgo.Record
	for p, n := range counts {
		for range n {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("x")})
		}
	}
	if err := c.kgo.ProduceSync(ctxT(t), rs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
}

// commit sets a group's committed offsets: topic -> partition -> offset.
func (c *testCluster) commit(t testing.TB, group string, offsets map[string]map[int32]int64) {
	t.Helper()
	var os kadm.Offsets
	for topic, ps := range offsets {
		for p, at := range ps {
			os.AddOffset(topic, p, at, -1)
		}
	}
	if err := c.admin.CommitAllOffsets(ctxT(t), group, os); err != nil {
		t.Fatalf("commit %s: %v", group, err)
	}
}

// mustParse parses md with bootstrapServers filled in when missing.
func mustParse(t testing.TB, c *testCluster, md map[string]string) *Trigger {
	t.Helper()
	m := maps.Clone(md)
	if _, ok := m["bootstrapServers"]; !ok && c != nil {
		m["bootstrapServers"] = c.bootstrap()
	}
	tr, err := Parse(metadata.Metadata(m), testPolicy)
	if err != nil {
		t.Fatalf("Parse(%v): %v", md, err)
	}
	return tr
}

// open opens the upstream of the first trigger and closes it at cleanup.
func open(t testing.TB, tr *Trigger) *Upstream {
	t.Helper()
	up, err := tr.Query().Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = up.Close() })
	return up.(*Upstream)
}

// pollAt polls the triggers' queries once at t0.
func pollAt(t testing.TB, u *Upstream, trs ...*Trigger) []sources.Result {
	t.Helper()
	qs := make([]sources.Query, len(trs))
	for i, tr := range trs {
		qs[i] = tr.Query()
	}
	return u.Poll(ctxT(t), t0, qs)
}

// mustSample returns the sample of r or fails the test.
func mustSample(t testing.TB, r sources.Result) sources.Sample {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("unexpected error: %v", r.Err)
	}
	return r.Sample
}

func isConfigError(err error) (*metadata.ConfigError, bool) {
	var ce *metadata.ConfigError
	return ce, errors.As(err, &ce)
}

// testPolicy lets ...File keys read any file a test names: the tests
// here are about Kafka; the file rules have their own tests.
var testPolicy = func() sources.Policy {
	f, err := metadata.NewFiles([]string{"/"}, "")
	if err != nil {
		panic(err)
	}
	return sources.Policy{Files: f}
}()
