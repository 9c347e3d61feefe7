package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The explain cluster's topic, group and lag: partition p holds 40 messages
// of which the group committed 3*p, so lag is 40-3p (40 down to 7, 282 in
// all).
const (
	demoTopic      = "orders"
	demoGroup      = "orders-consumer"
	demoPartitions = 12
	demoMessages   = 40
)

// StartExplainCluster starts an embedded three-broker Kafka with known lag
// and points md at it: the demo's topic and group replace whatever md
// names, the other keys (lagThreshold, metricMode, ...) stay.
func StartExplainCluster(ctx context.Context, md map[string]string) (*kfake.Cluster, error) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(demoPartitions, demoTopic))
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka: %w", err)
	}
	if err := seedDemoLag(ctx, cluster.ListenAddrs()); err != nil {
		cluster.Close()
		return nil, err
	}
	md["source"] = "kafka"
	md["bootstrapServers"] = strings.Join(cluster.ListenAddrs(), ",")
	md["consumerGroup"] = demoGroup
	md["topic"] = demoTopic
	if md["lagThreshold"] == "" {
		md["lagThreshold"] = "20"
	}
	return cluster, nil
}

func seedDemoLag(ctx context.Context, brokers []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(demoTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for p := range int32(demoPartitions) {
		for range demoMessages {
			recs = append(recs, &kgo.Record{Partition: p, Value: []byte("order")})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("produce demo messages: %w", err)
	}
	offs := kadm.Offsets{}
	for p := range int32(demoPartitions) {
		offs.Add(kadm.Offset{Topic: demoTopic, Partition: p, At: int64(3 * p), LeaderEpoch: -1})
	}
	resp, err := kadm.NewClient(cl).CommitOffsets(ctx, demoGroup, offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return fmt.Errorf("commit demo offsets: %w", err)
	}
	return nil
}
