package kafka

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/tide-scaler/tide/pkg/sources"
)

// brokerCounter counts requests of some keys per broker, from kfake's side.
type brokerCounter struct {
	mu     sync.Mutex
	counts map[int16]map[int32]int // key -> node -> requests
}

func countRequests(c *testCluster, keys ...int16) *brokerCounter {
	bc := &brokerCounter{counts: map[int16]map[int32]int{}}
	for _, key := range keys {
		bc.counts[key] = map[int32]int{}
		c.ControlKey(key, func(kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			bc.mu.Lock()
			bc.counts[key][c.CurrentNode()]++
			bc.mu.Unlock()
			return nil, nil, false // observe only: kfake answers as usual
		})
	}
	return bc
}

func (bc *brokerCounter) snapshot(key int16) (total int, perNode map[int32]int) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	perNode = map[int32]int{}
	for n, v := range bc.counts[key] {
		perNode[n] = v
		total += v
	}
	return total, perNode
}

// TestPollRequestsPerPoll: 20 queries over 3 groups on a 30-partition topic
// cost one OffsetFetch per group and at most one ListOffsets per leader,
// counted both by the upstream and by the brokers.
func TestPollRequestsPerPoll(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 30, "big")
	counts := map[int32]int{}
	for p := range int32(30) {
		counts[p] = int(p % 7)
	}
	c.produce(t, "big", counts)
	groups := []string{"ga", "gb", "gc"}
	for _, g := range groups {
		offs := map[int32]int64{}
		for p := range int32(30) {
			offs[p] = 0
		}
		c.commit(t, g, map[string]map[int32]int64{"big": offs})
	}
	var trs []*Trigger
	for i := range 20 {
		md := map[string]string{
			"consumerGroup": groups[i%3],
			"topic":         "big",
			"lagThreshold":  strconv.Itoa(1 + i),
		}
		switch i % 4 {
		case 1:
			md["partitionLimitation"] = fmt.Sprintf("0-%d", i)
		case 2:
			md["excludePersistentLag"] = "true"
		case 3:
			delete(md, "topic") // the group's committed topics: the same one
		}
		trs = append(trs, mustParse(t, c, md))
	}
	u := open(t, trs[0])
	pollAt(t, u, trs...) // warm: connections and metadata

	bc := countRequests(c, int16(kmsg.ListOffsets), int16(kmsg.OffsetFetch))
	before := u.Stats()
	res := pollAt(t, u, trs...)
	after := u.Stats()
	for i, r := range res {
		s := mustSample(t, r)
		// 30 partitions holding p%7 records each: 4*(0+...+6) + 0 + 1.
		if i%4 == 0 && s.Value != 85 {
			t.Errorf("query %d: value %v, want 85", i, s.Value)
		}
	}
	if d := after.OffsetFetchRequests - before.OffsetFetchRequests; d != 3 {
		t.Errorf("upstream sent %d OffsetFetch, want 3 (one per group)", d)
	}
	if d := after.ListOffsetsRequests - before.ListOffsetsRequests; d < 1 || d > 3 {
		t.Errorf("upstream sent %d ListOffsets, want 1 to 3 (one per leader)", d)
	}
	if d := after.MetadataRequests - before.MetadataRequests; d != 0 {
		t.Errorf("upstream sent %d Metadata within the refresh interval, want 0", d)
	}
	if n, _ := bc.snapshot(int16(kmsg.OffsetFetch)); n != 3 {
		t.Errorf("brokers saw %d OffsetFetch, want 3", n)
	}
	n, perNode := bc.snapshot(int16(kmsg.ListOffsets))
	if int64(n) != after.ListOffsetsRequests-before.ListOffsetsRequests {
		t.Errorf("brokers saw %d ListOffsets, upstream counted %d", n, after.ListOffsetsRequests-before.ListOffsetsRequests)
	}
	for node, v := range perNode {
		if v != 1 {
			t.Errorf("broker %d saw %d ListOffsets, want 1", node, v)
		}
	}
	t.Logf("one poll of 20 queries: %+v; ListOffsets per broker %v", after, perNode)
}

// TestDescribeGroupsUsesCachedCoordinator: DescribeGroups goes to the
// cached coordinator, so a steady poll of 10 groups that count their
// members sends 10 DescribeGroups, 10 OffsetFetch and no FindCoordinator
// (kafka-go's own routing looked the coordinator up before each).
func TestDescribeGroupsUsesCachedCoordinator(t *testing.T) {
	c := startCluster(t)
	var trs []*Trigger
	for i := range 10 {
		name := fmt.Sprintf("d%d", i)
		caughtUp(t, c, name, 1, name)
		trs = append(trs, mustParse(t, c, map[string]string{"consumerGroup": name, "topic": name,
			"metricMode": "replicas", "lagTarget": "30s"}))
	}
	u := open(t, trs[0])
	pollAt(t, u, trs...) // warm: coordinators, connections and metadata
	keys := []int16{int16(kmsg.FindCoordinator), int16(kmsg.DescribeGroups), int16(kmsg.OffsetFetch)}
	bc := countRequests(c, keys...)
	for _, r := range pollAt(t, u, trs...) {
		mustSample(t, r)
	}
	want := map[int16]int{int16(kmsg.FindCoordinator): 0, int16(kmsg.DescribeGroups): 10, int16(kmsg.OffsetFetch): 10}
	for k := range want {
		if n, _ := bc.snapshot(k); n != want[k] {
			t.Errorf("brokers saw %d %s in a steady poll, want %d", n, kmsg.NameForKey(k), want[k])
		}
	}
}

// TestMetadataNamesOnlyWatchedTopics: on a cluster with 50 other topics,
// every Metadata request the upstream sends names the watched topic and
// nothing else (an empty list would be every topic of the cluster: what
// KEDA's scalers hold per ScaledObject), from its first poll to a refresh.
func TestMetadataNamesOnlyWatchedTopics(t *testing.T) {
	c := startCluster(t)
	for i := range 50 {
		c.createTopic(t, 4, fmt.Sprintf("other-%02d", i))
	}
	caughtUp(t, c, "watched", 3, "g")
	var mu sync.Mutex
	var asked [][]string
	c.ControlKey(int16(kmsg.Metadata), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.MetadataRequest)
		var names []string
		if req.Topics == nil {
			names = []string{"<all>"}
		}
		for _, tp := range req.Topics {
			if tp.Topic != nil {
				names = append(names, *tp.Topic)
			}
		}
		mu.Lock()
		asked = append(asked, names)
		mu.Unlock()
		return nil, nil, false
	})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "watched"})
	u := open(t, tr)
	for i := range 3 { // the first poll, one within the refresh interval, one after it
		mustSample(t, u.Poll(ctxT(t), t0.Add(time.Duration(i)*31*time.Second), []sources.Query{tr.Query()})[0])
	}
	mu.Lock()
	defer mu.Unlock()
	n := 0
	for _, names := range asked {
		switch {
		case len(names) == 0: // the transport's broker-list refresh: no topics at all
		case len(names) == 1 && names[0] == "watched":
			n++
		default:
			t.Errorf("a Metadata request asked for %v; want only the watched topic (or none)", names)
		}
	}
	if n == 0 {
		t.Error("no Metadata request named the watched topic")
	}
}
