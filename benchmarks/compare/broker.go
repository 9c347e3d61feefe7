package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// mainTopic is the topic every measured ScaledObject reads.
const mainTopic = "orders"

func groupName(g int) string { return fmt.Sprintf("group-%02d", g) }

// committed is where group g of groups has committed on every partition of
// a topic of records records per partition: lag differs per group and is
// known exactly.
func committed(g, groups, records int) int64 { return int64(g * records / (2 * groups)) }

// brokerInfo is the one JSON line `compare broker` prints when it is ready.
type brokerInfo struct {
	Bootstrap string `json:"bootstrap"`
	Control   string `json:"control"`
}

// brokerCounts is what GET /counts answers: every request the brokers have
// handled since start, by API name, and the client connections open now.
type brokerCounts struct {
	Requests map[string]int `json:"requests"`
	Conns    int            `json:"conns"`
}

func brokerCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	partitions := fs.Int("partitions", 60, "partitions of the measured topic")
	groups := fs.Int("groups", 10, "consumer groups with known lag on it")
	records := fs.Int("records", 40, "records per partition")
	fillers := fs.Int("filler-topics", 0, "empty topics besides the measured one, as a big cluster holds")
	fillerParts := fs.Int("filler-partitions", 24, "partitions of every filler topic")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *fillers < 0 || *fillerParts <= 0 {
		return fmt.Errorf("-filler-topics %d -filler-partitions %d: want ≥ 0 topics of ≥ 1 partition", *fillers, *fillerParts)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		return fmt.Errorf("kfake: %w", err)
	}
	defer c.Close()
	seedCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := seed(seedCtx, c, *partitions, *groups, *records); err != nil {
		return err
	}
	if err := seedFillers(seedCtx, c, *fillers, int32(*fillerParts)); err != nil {
		return err
	}
	counter := &requestCounter{byKey: map[string]int{}}
	c.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		counter.add(kmsg.NameForKey(req.Key()))
		return nil, nil, false
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	listeners := len(c.ListenAddrs()) + 1
	mux := http.NewServeMux()
	mux.HandleFunc("GET /counts", func(w http.ResponseWriter, _ *http.Request) {
		out := brokerCounts{Requests: counter.snapshot(), Conns: openSockets() - listeners}
		_ = json.NewEncoder(w).Encode(out)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	info := brokerInfo{Bootstrap: strings.Join(c.ListenAddrs(), ","), Control: "http://" + ln.Addr().String()}
	if err := json.NewEncoder(os.Stdout).Encode(info); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

type requestCounter struct {
	mu    sync.Mutex
	byKey map[string]int
}

func (rc *requestCounter) add(name string) {
	rc.mu.Lock()
	rc.byKey[name]++
	rc.mu.Unlock()
}

func (rc *requestCounter) snapshot() map[string]int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return maps.Clone(rc.byKey)
}

// openSockets counts this process's open sockets (listeners included).
func openSockets() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// seed creates the measured topic with its groups' commits, and the
// correctness cases' topics, with franz-go against the cluster itself.
func seed(ctx context.Context, c *kfake.Cluster, partitions, groups, records int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	commits := map[string]map[int32]int64{}
	for g := range groups {
		m := map[int32]int64{}
		for p := range int32(partitions) {
			m[p] = committed(g, groups, records)
		}
		commits[groupName(g)] = m
	}
	if err := seedTopic(ctx, cl, adm, mainTopic, int32(partitions), records, commits); err != nil {
		return err
	}
	for _, kc := range kafkaCases {
		if err := seedTopic(ctx, cl, adm, kc.topic, kc.partitions, kc.records,
			map[string]map[int32]int64{kc.group: kc.commits}); err != nil {
			return fmt.Errorf("case %s: %w", kc.name, err)
		}
		for p := range kc.partitions {
			if kc.logStart > 0 {
				if err := c.DeleteRecords(kc.topic, p, kc.logStart); err != nil {
					return fmt.Errorf("case %s: delete records: %w", kc.name, err)
				}
			}
		}
	}
	return nil
}

// fillerTopic is the name of the i-th filler topic.
func fillerTopic(i int) string { return fmt.Sprintf("filler-%04d", i) }

// fillerBatch is how many topics one CreateTopics request creates.
const fillerBatch = 100

// seedFillers creates n empty topics of partitions partitions each, a
// hundred per CreateTopics request. No ScaledObject reads them; they are
// there because a real cluster holds them, and a client that keeps metadata
// for every topic of the cluster pays for them.
func seedFillers(ctx context.Context, c *kfake.Cluster, n int, partitions int32) error {
	if n == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for start := 0; start < n; start += fillerBatch {
		names := make([]string, 0, fillerBatch)
		for i := start; i < min(n, start+fillerBatch); i++ {
			names = append(names, fillerTopic(i))
		}
		res, err := adm.CreateTopics(ctx, partitions, 1, nil, names...)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			return fmt.Errorf("create filler topics %s…: %w", names[0], err)
		}
	}
	return nil
}

// seedTopic creates topic (unless it is empty, for cases that have none),
// fills every partition with records records and commits each group's
// offsets.
func seedTopic(ctx context.Context, cl *kgo.Client, adm *kadm.Client, topic string, partitions int32, records int, commits map[string]map[int32]int64) error {
	if topic != "" {
		res, err := adm.CreateTopics(ctx, partitions, 1, nil, topic)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
		rs := make([]*kgo.Record, 0, int(partitions)*records)
		for p := range partitions {
			for range records {
				rs = append(rs, &kgo.Record{Topic: topic, Partition: p, Value: []byte("x")})
			}
		}
		if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			return fmt.Errorf("produce to %s: %w", topic, err)
		}
	}
	for group, offsets := range commits {
		if len(offsets) == 0 {
			continue
		}
		var os kadm.Offsets
		for p, o := range offsets {
			os.AddOffset(topic, p, o, -1)
		}
		if err := adm.CommitAllOffsets(ctx, group, os); err != nil {
			return fmt.Errorf("commit %s: %w", group, err)
		}
	}
	return nil
}

// fetchJSON GETs url into v.
func fetchJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return errors.Join(fmt.Errorf("GET %s: decode", url), err)
	}
	return nil
}
