package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// BenchmarkGetMetrics measures GetMetrics of the real server (server.New
// over a sources.Engine on a 3-broker kfake cluster) over a real loopback
// gRPC connection, with N distinct triggers (distinct ScaledObjects) spread
// over 10 consumer groups, so N triggers share 10 queries. Every trigger is
// warmed once (its first sample); the timed calls then cycle over all N
// triggers from GOMAXPROCS goroutines on one connection, as KEDA keeps one
// connection per scaler address.
//
// Reported: ns/op (wall time per call at that concurrency, 1/throughput),
// calls/s, p50-µs and p99-µs of single calls, the same for grpc.health.v1
// Check on the same server and connection (the floor cost of one loopback
// RPC, measured right after in the same process with as many calls and
// goroutines), and GetMetrics over health as p50-x-health-rpc and
// p99-x-health-rpc. The paced figures are the same at KEDA's rate for
// 10,000 ScaledObjects (1000 calls/s) instead of flat out: p50 and p99 of
// GetMetrics and of health, and their p99 ratio. others-cpu-% is how much
// of the machine other processes used during the flat-out phases: a run
// with more than a few percent was disturbed by neighbours. heap-B/trigger
// is the live heap each warmed trigger added. Target: p99 < 1 ms at 10,000
// triggers.
func BenchmarkGetMetrics(b *testing.B) {
	c := startLagCluster(b, "orders", 12, 100)
	for _, n := range []int{1, 1000, 10000} {
		var env *scalerEnv
		b.Run(fmt.Sprintf("triggers=%d", n), func(b *testing.B) {
			if env == nil { // once for every b.N probe and -count round
				var err error
				if env, err = startScaler(n, groups, func(i int) map[string]string { return triggerMetadata(c, i) },
					func(i int) float64 { return c.lag(i % groups) }); err != nil {
					b.Fatal(err)
				}
			}
			env.measure(b)
		})
		if env != nil {
			env.close()
		}
	}
}

// scalerEnv is one in-process scaler with n warmed triggers and a client.
type scalerEnv struct {
	eng    *sources.Engine
	cache  *trigger.Cache
	cancel context.CancelFunc
	done   chan error
	conn   *grpc.ClientConn
	scaler pb.ExternalScalerClient
	health healthpb.HealthClient

	reqs []*pb.GetMetricsRequest
	want []float64 // metric value of each request

	heapPerTrigger float64 // retained heap growth per warmed trigger, bytes

	pacedCalls, pacedHealth *latencies // see paced
}

// triggerMetadata is ScaledObject i's trigger metadata, as KEDA forwards it.
// metricName makes every ScaledObject a distinct trigger while the query
// (cluster, group, topic, options) is shared by every tenth.
func triggerMetadata(c *lagCluster, i int) map[string]string {
	return map[string]string{
		"source":           "kafka",
		"bootstrapServers": c.bootstrap(),
		"consumerGroup":    groupName(i % groups),
		"topic":            c.topic,
		// Above every lag here, so the partition cap never applies and
		// the expected value is the lag itself.
		"lagThreshold": "1000000",
		"metricName":   fmt.Sprintf("so-%05d", i),
	}
}

// startScaler starts the server as cmd/scaler serve wires it, on loopback
// ports, connects a client and warms n triggers whose metadata md(i) gives;
// want(i) is the value trigger i must report, queries the distinct
// readings the n triggers share.
func startScaler(n, queries int, md func(i int) map[string]string, want func(i int) float64) (env *scalerEnv, err error) {
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	env = &scalerEnv{
		eng:  sources.NewEngine(sources.Options{Metrics: met, Logger: discard}), // defaults: 2 s polls
		done: make(chan error, 1),
	}
	defer func() {
		if err != nil {
			env.close()
		}
	}()
	env.cache = trigger.NewCache(trigger.CacheConfig{Registry: builtin.Registry(builtin.Options{}), Reader: env.eng,
		Max: 100000, Size: met.Triggers})
	srv, err := server.New(server.Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		ShutdownTimeout: 5 * time.Second,
		Service:         server.ServiceConfig{Triggers: env.cache, Metrics: met},
		Gatherer:        reg, Logger: discard,
	})
	if err != nil {
		return env, err
	}
	var ctx context.Context
	ctx, env.cancel = context.WithCancel(context.Background())
	go func() { env.done <- srv.Run(ctx) }()

	env.conn, err = grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return env, err
	}
	env.scaler = pb.NewExternalScalerClient(env.conn)
	env.health = healthpb.NewHealthClient(env.conn)
	if err := env.waitServing(); err != nil {
		return env, err
	}

	env.reqs = make([]*pb.GetMetricsRequest, n)
	env.want = make([]float64, n)
	for i := range n {
		name := fmt.Sprintf("so-%05d", i)
		env.reqs[i] = &pb.GetMetricsRequest{
			ScaledObjectRef: &pb.ScaledObjectRef{Name: name, Namespace: "bench", ScalerMetadata: md(i)},
			MetricName:      "s0-" + name, // KEDA prefixes the trigger index
		}
		env.want[i] = want(i)
	}

	// Warm every trigger once: the first of each query waits for its first
	// sample, the rest parse their metadata and read the cache.
	before := heapInUse()
	if err := env.warm(); err != nil {
		return env, err
	}
	env.heapPerTrigger = float64(heapInUse()-before) / float64(n)
	if st := env.eng.Stats(); st.Upstreams != 1 || st.Queries != min(n, queries) {
		return env, fmt.Errorf("engine holds %+v after warming %d triggers, want 1 upstream and %d queries", st, n, min(n, queries))
	}
	return env, nil
}

func (env *scalerEnv) waitServing() error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		res, err := env.health.Check(ctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && res.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not serving after 10 s: %v %v", res.GetStatus(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// warm calls GetMetrics once for every trigger, 8 at a time, and checks
// every value against the lag the cluster was seeded with.
func (env *scalerEnv) warm() error {
	var next atomic.Int64
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(env.reqs) {
					errs <- nil
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := env.call(ctx, i)
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
	for range 8 {
		err = errors.Join(err, <-errs)
	}
	return err
}

// call sends request i and checks the answer.
func (env *scalerEnv) call(ctx context.Context, i int) error {
	res, err := env.scaler.GetMetrics(ctx, env.reqs[i])
	if err != nil {
		return fmt.Errorf("GetMetrics %s: %w", env.reqs[i].GetMetricName(), err)
	}
	if v := res.GetMetricValues(); len(v) != 1 || v[0].GetMetricValueFloat() != env.want[i] {
		return fmt.Errorf("GetMetrics %s: got %v, want one value %v", env.reqs[i].GetMetricName(), v, env.want[i])
	}
	return nil
}

func (env *scalerEnv) close() {
	if env.conn != nil {
		env.conn.Close()
	}
	if env.cancel != nil {
		env.cancel()
		<-env.done
	}
	if env.cache != nil {
		env.cache.Close()
	}
	env.eng.Close()
}

// measure runs b.N GetMetrics calls in parallel, then as many health checks
// with as many goroutines, then (once per -count round) the paced phases,
// and reports them all.
func (env *scalerEnv) measure(b *testing.B) {
	n := uint64(len(env.reqs))
	var next atomic.Uint64
	var lat latencies
	cpu0 := readCPUClock()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(p *testing.PB) {
		ctx := context.Background()
		own := make([]time.Duration, 0, 4096)
		defer func() { lat.add(own) }()
		for p.Next() {
			i := int((next.Add(1) - 1) % n)
			t := time.Now()
			err := env.call(ctx, i)
			own = append(own, time.Since(t))
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()

	health, healthAllocs := env.healthFloor(b, b.N, runtime.GOMAXPROCS(0))
	others := othersCPU(cpu0, readCPUClock())
	// The paced phases do not depend on b.N: run them once per -count
	// round, whose first call always has b.N == 1 (the testing package runs
	// every round of a sub-benchmark in one call of its parent, so env
	// outlives the rounds).
	if b.N == 1 || env.pacedCalls == nil {
		env.pacedCalls = env.paced(b, func(k int) error { return env.call(context.Background(), k%len(env.reqs)) })
		env.pacedHealth = env.paced(b, func(int) error { return env.checkHealth() })
	}
	paced, pacedHealth := env.pacedCalls, env.pacedHealth
	p50, p99 := lat.quantile(0.50), lat.quantile(0.99)
	h50, h99 := health.quantile(0.50), health.quantile(0.99)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(micros(p50), "p50-µs")
	b.ReportMetric(micros(p99), "p99-µs")
	b.ReportMetric(micros(h50), "health-p50-µs")
	b.ReportMetric(micros(h99), "health-p99-µs")
	b.ReportMetric(float64(p50)/float64(h50), "p50-x-health-rpc")
	b.ReportMetric(float64(p99)/float64(h99), "p99-x-health-rpc")
	b.ReportMetric(healthAllocs, "health-allocs/op")
	b.ReportMetric(micros(paced.quantile(0.50)), "paced-p50-µs")
	b.ReportMetric(micros(paced.quantile(0.99)), "paced-p99-µs")
	b.ReportMetric(micros(pacedHealth.quantile(0.50)), "paced-health-p50-µs")
	b.ReportMetric(micros(pacedHealth.quantile(0.99)), "paced-health-p99-µs")
	b.ReportMetric(float64(paced.quantile(0.99))/float64(pacedHealth.quantile(0.99)), "paced-p99-x-health-rpc")
	if others >= 0 {
		b.ReportMetric(others, "others-cpu-%")
	}
	if len(env.reqs) >= 1000 { // too noisy below
		b.ReportMetric(env.heapPerTrigger, "heap-B/trigger")
	}
}

// The paced phase sends GetMetrics at a fixed rate instead of as fast as
// possible: 1000 calls/s is what KEDA sends for 10,000 ScaledObjects (the
// HPA's 15 s sync asks for each metric twice per 30 s, and KEDA's default
// 30 s pollingInterval asks IsActive once).
const (
	pacedRate  = 1000 // calls per second
	pacedCalls = 3000
)

// paced makes pacedCalls calls of call (given the call's index) at
// pacedRate per second, open loop (each in its own goroutine, so a slow
// answer does not delay the next call), and returns their latencies.
func (env *scalerEnv) paced(b *testing.B, call func(k int) error) *latencies {
	var lat latencies
	own := make([]time.Duration, pacedCalls)
	var wg sync.WaitGroup
	start := time.Now()
	for k := range pacedCalls {
		time.Sleep(time.Until(start.Add(time.Duration(k) * time.Second / pacedRate)))
		wg.Go(func() {
			t := time.Now()
			err := call(k)
			own[k] = time.Since(t)
			if err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	lat.add(own)
	return &lat
}

// checkHealth sends one grpc.health.v1 Check and expects SERVING.
func (env *scalerEnv) checkHealth() error {
	res, err := env.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err == nil && res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		err = fmt.Errorf("health: %v", res.GetStatus())
	}
	return err
}

// healthFloor sends calls grpc.health.v1 Checks from goroutines goroutines
// on the same connection and returns their latencies and allocations per
// call (client and server, like -benchmem's allocs/op).
func (env *scalerEnv) healthFloor(b *testing.B, calls, goroutines int) (*latencies, float64) {
	var lat latencies
	var next atomic.Int64
	var wg sync.WaitGroup
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for range goroutines {
		wg.Go(func() {
			own := make([]time.Duration, 0, 4096)
			defer func() { lat.add(own) }()
			for next.Add(1) <= int64(calls) {
				t := time.Now()
				err := env.checkHealth()
				own = append(own, time.Since(t))
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	runtime.ReadMemStats(&ms1)
	return &lat, float64(ms1.Mallocs-ms0.Mallocs) / float64(calls)
}

// latencies collects single-call latencies from several goroutines.
type latencies struct {
	mu     sync.Mutex
	d      []time.Duration
	sorted bool
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.sorted = false
	l.mu.Unlock()
}

// quantile is the nearest-rank q-quantile (0 with no samples).
func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	if !l.sorted {
		slices.Sort(l.d)
		l.sorted = true
	}
	i := int(math.Ceil(q*float64(len(l.d)))) - 1
	return l.d[max(i, 0)]
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
