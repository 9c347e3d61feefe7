package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topic creates a topic on the shared kfake cluster and commits the group
// at offset 0 on every partition, as a deployed consumer group would have.
func topic(t *testing.T, name, group string, partitions int32) *kgo.Client {
	t.Helper()
	return topicOn(t, kafka, name, group, partitions)
}

// topicOn is topic on the given cluster.
func topicOn(t *testing.T, kc *kfake.Cluster, name, group string, partitions int32) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic(name),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(t.Context(), partitions, 1, nil, name); err != nil {
		t.Fatal(err)
	}
	var offs kadm.Offsets
	for p := range partitions {
		offs.AddOffset(name, p, 0, -1)
	}
	if err := adm.CommitAllOffsets(t.Context(), group, offs); err != nil {
		t.Fatal(err)
	}
	return cl
}

func produce(t *testing.T, cl *kgo.Client, n int) {
	t.Helper()
	rs := make([]*kgo.Record, n)
	for i := range rs {
		rs[i] = &kgo.Record{Value: []byte("job")}
	}
	if err := cl.ProduceSync(t.Context(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// commitAll commits the group at the log end of every partition: the lag
// is drained.
func commitAll(t *testing.T, cl *kgo.Client, topicName, group string) {
	t.Helper()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(t.Context(), topicName)
	if err != nil {
		t.Fatal(err)
	}
	var offs kadm.Offsets
	ends.Each(func(o kadm.ListedOffset) { offs.AddOffset(o.Topic, o.Partition, o.Offset, -1) })
	if err := adm.CommitAllOffsets(t.Context(), group, offs); err != nil {
		t.Fatal(err)
	}
}

func kafkaTrigger(topicName, group string, lagThreshold int, extra string) string {
	return kafkaTriggerAt(scaler.Addr(), kafka, "", topicName, group, lagThreshold, extra)
}

// kafkaTriggerAt is a trigger for the scaler at addr reading kc, with an
// authenticationRef line (YAML flow mapping) unless authRef is "".
func kafkaTriggerAt(addr string, kc *kfake.Cluster, authRef, topicName, group string, lagThreshold int, extra string) string {
	auth := ""
	if authRef != "" {
		auth = "    authenticationRef: " + authRef + "\n"
	}
	return fmt.Sprintf(`  - type: external-push
%s    metadata:
      scalerAddress: %q
      source: kafka
      bootstrapServers: %q
      consumerGroup: %q
      topic: %q
      lagThreshold: "%d"
%s`, auth, addr, strings.Join(kc.ListenAddrs(), ","), group, topicName, lagThreshold, extra)
}
