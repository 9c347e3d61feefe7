package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tide-scaler/tide/internal/vllmfake"
)

// Kafka: one topic, every group committed at a known offset on every
// partition, so group g's lag is known exactly.
const (
	kafkaTopic      = "orders"
	kafkaPartitions = 6
	kafkaRecords    = 100
)

func groupName(g int) string { return fmt.Sprintf("group-%03d", g) }

func committed(g, groups int) int64 { return int64(g * kafkaRecords / (2 * groups)) }

// kafkaLag is the total lag of group g: what GetMetrics must answer.
func kafkaLag(g, groups int) float64 {
	return float64(kafkaPartitions) * float64(kafkaRecords-committed(g, groups))
}

// startKafka starts a 3-broker kfake cluster, produces the records and
// commits every group with franz-go, then closes that client.
func startKafka(ctx context.Context, groups int) (*kfake.Cluster, error) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		return nil, fmt.Errorf("kfake: %w", err)
	}
	if err := seedKafka(ctx, kc, groups); err != nil {
		kc.Close()
		return nil, err
	}
	return kc, nil
}

func seedKafka(ctx context.Context, kc *kfake.Cluster, groups int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := adm.CreateTopics(ctx, kafkaPartitions, 1, nil, kafkaTopic)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	var rs []*kgo.Record
	for p := range int32(kafkaPartitions) {
		for range kafkaRecords {
			rs = append(rs, &kgo.Record{Topic: kafkaTopic, Partition: p, Value: []byte("x")})
		}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	for g := range groups {
		var os kadm.Offsets
		for p := range int32(kafkaPartitions) {
			os.AddOffset(kafkaTopic, p, committed(g, groups), -1)
		}
		if err := adm.CommitAllOffsets(ctx, groupName(g), os); err != nil {
			return fmt.Errorf("commit %s: %w", groupName(g), err)
		}
	}
	return nil
}

// redisServer is Debian's redis-server on a free loopback port.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func listName(l int) string { return fmt.Sprintf("jobs-%03d", l) }

// redisDepth is how many entries list l holds.
func redisDepth(l int) float64 { return float64(10 * (l + 1)) }

// startRedis starts redis-server without persistence, in its own process
// group and killed with this process, and seeds the lists.
func startRedis(ctx context.Context, dir string, lists int) (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not installed (Debian package redis-server): %w", err)
	}
	var lastErr error
	for range 3 { // a free port can be taken between probing and binding
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		rs, err := launchRedis(ctx, bin, dir, port)
		if err == nil {
			if err = rs.seed(ctx, lists); err == nil {
				return rs, nil
			}
			rs.stop()
		}
		lastErr = err
	}
	return nil, lastErr
}

func launchRedis(ctx context.Context, bin, dir string, port int) (*redisServer, error) {
	logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("redis-%d.log", port)))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	rs := &redisServer{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(rs.done) }() //nolint:errcheck // a stopped server exits non-zero
	c := goredis.NewClient(&goredis.Options{Addr: rs.addr})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-rs.done:
			return nil, fmt.Errorf("redis-server on port %d exited (see %s)", port, logf.Name())
		default:
		}
		if err := c.Ping(ctx).Err(); err == nil {
			return rs, nil
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			rs.stop()
			return nil, fmt.Errorf("redis-server on port %d not ready: %w", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rs *redisServer) seed(ctx context.Context, lists int) error {
	c := goredis.NewClient(&goredis.Options{Addr: rs.addr})
	defer c.Close()
	for l := range lists {
		vals := make([]any, int(redisDepth(l)))
		for i := range vals {
			vals[i] = i
		}
		if err := c.RPush(ctx, listName(l), vals...).Err(); err != nil {
			return fmt.Errorf("seed %s: %w", listName(l), err)
		}
	}
	return nil
}

// stop kills the server's process group and waits for it.
func (rs *redisServer) stop() {
	syscall.Kill(-rs.cmd.Process.Pid, syscall.SIGKILL) //nolint:errcheck // already gone is fine
	<-rs.done
}

// vllmPods serves fake vLLM pods at /m<model>/p<pod>/metrics.
type vllmPods struct {
	srv     *http.Server
	base    string
	scrapes atomic.Int64
}

const podsPerModel = 2

func modelName(m int) string { return fmt.Sprintf("model-%03d", m) }

func startVLLM() (*vllmPods, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	v := &vllmPods{base: "http://" + lis.Addr().String()}
	v.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m, p int
		if _, err := fmt.Sscanf(r.URL.Path, "/m%d/p%d/metrics", &m, &p); err != nil {
			http.NotFound(w, r)
			return
		}
		v.scrapes.Add(1)
		vllmfake.Serve(w, vllmfake.State{Model: modelName(m), Success: 100, Waiting: float64(m % 7), Running: 2, KVCache: 0.3})
	})}
	go v.srv.Serve(lis) //nolint:errcheck // ends with Close
	return v, nil
}

func (v *vllmPods) targets(m int) string {
	urls := make([]string, podsPerModel)
	for p := range urls {
		urls[p] = fmt.Sprintf("%s/m%d/p%d/metrics", v.base, m, p)
	}
	return strings.Join(urls, ",")
}

// upstreams are the three sources' fakes.
type upstreams struct {
	kafka   *kfake.Cluster
	redis   *redisServer
	vllm    *vllmPods
	queries int // distinct queries per source
}

func startUpstreams(ctx context.Context, dir string, queries int) (*upstreams, error) {
	u := &upstreams{queries: queries}
	var err error
	if u.redis, err = startRedis(ctx, dir, queries); err != nil {
		return nil, err
	}
	if u.kafka, err = startKafka(ctx, queries); err != nil {
		u.close()
		return nil, err
	}
	if u.vllm, err = startVLLM(); err != nil {
		u.close()
		return nil, err
	}
	return u, nil
}

func (u *upstreams) close() {
	if u.vllm != nil {
		u.vllm.srv.Close()
	}
	if u.kafka != nil {
		u.kafka.Close()
	}
	if u.redis != nil {
		u.redis.stop()
	}
}

// trigger is one ScaledObject's trigger as KEDA sends it, and the value
// GetMetrics must answer (want < 0: not checked).
type trigger struct {
	name string
	md   map[string]string
	want float64
}

// triggers splits n ScaledObjects over the three sources in turn. Every
// ScaledObject has its own metricName, so each is a distinct trigger in
// the scaler, while each source's triggers share u.queries queries.
func (u *upstreams) triggers(n int) []trigger {
	out := make([]trigger, n)
	q := u.queries
	for i := range out {
		name := fmt.Sprintf("so-%05d", i)
		k := (i / 3) % q
		switch i % 3 {
		case 0:
			out[i] = trigger{name, map[string]string{
				"source": "kafka", "bootstrapServers": strings.Join(u.kafka.ListenAddrs(), ","),
				"consumerGroup": groupName(k), "topic": kafkaTopic,
				"lagThreshold": "1000000", // no partition cap: the value is the lag
				"metricName":   name,
			}, kafkaLag(k, q)}
		case 1:
			out[i] = trigger{name, map[string]string{
				"source": "redis", "address": u.redis.addr, "listName": listName(k),
				"listLength": "1000000", "metricName": name,
			}, redisDepth(k)}
		default:
			out[i] = trigger{name, map[string]string{
				"source": "inference", "targets": u.vllm.targets(k), "modelName": modelName(k),
				"targetRequestRate": "4", "targetWaiting": "5", "metricName": name,
			}, -1} // the KPA's windows decide; checked to be an answer, not a value
		}
	}
	return out
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
