package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
)

// driveConfig is one `compare drive`: an implementation at a scale on
// KEDA's schedule.
type driveConfig struct {
	suite, impl   string
	scale, groups int
	bootstrap     string // kafka
	redisAddr     string // redis
	tideAddr      string // Tide's gRPC address
	tideHTTP      string // Tide's /metrics
	tidePID       int
	control       string // the broker's /counts
	window        time.Duration
	polling, hpa  time.Duration
	seed          uint64
	idle          bool
	settle        time.Duration
	lagThreshold  int
	listLength    int
	maxRSS        int64 // bytes; 0 is no limit
}

func driveCmd(ctx context.Context, args []string) error {
	var c driveConfig
	fs := flag.NewFlagSet("drive", flag.ContinueOnError)
	fs.StringVar(&c.suite, "suite", "kafka", "kafka, kafka-big or redis")
	fs.StringVar(&c.impl, "impl", ImplTide, "implementation")
	fs.IntVar(&c.scale, "scale", 100, "ScaledObjects (kafka) or lists (redis)")
	fs.IntVar(&c.groups, "groups", 10, "consumer groups the ScaledObjects spread over")
	fs.StringVar(&c.bootstrap, "bootstrap", "", "Kafka bootstrap servers")
	fs.StringVar(&c.redisAddr, "redis", "", "redis-server address")
	fs.StringVar(&c.tideAddr, "tide-addr", "", "Tide's gRPC address")
	fs.StringVar(&c.tideHTTP, "tide-http", "", "Tide's HTTP address (/metrics)")
	fs.IntVar(&c.tidePID, "tide-pid", 0, "Tide's process ID (for RSS)")
	fs.StringVar(&c.control, "control", "", "the broker's control URL")
	fs.DurationVar(&c.window, "window", 15*time.Second, "how long to observe")
	fs.DurationVar(&c.polling, "polling-interval", 30*time.Second, "KEDA's pollingInterval")
	fs.DurationVar(&c.hpa, "hpa-sync", 15*time.Second, "the HPA's sync period")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the schedule's phases")
	fs.DurationVar(&c.settle, "settle", 3*time.Second, "wait after the warm-up before the window opens")
	fs.BoolVar(&c.idle, "idle", false, "build nothing: print the idle footprint")
	fs.IntVar(&c.lagThreshold, "lag-threshold", 10, "lagThreshold")
	fs.IntVar(&c.listLength, "list-length", 5, "listLength")
	maxRSS := fs.Int64("max-rss-mib", 0, "exit at once when this process's RSS passes this many MiB (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.maxRSS = *maxRSS << 20
	if c.idle {
		time.Sleep(time.Second) // let the runtime settle as the drivers do
		return json.NewEncoder(os.Stdout).Encode(selfFootprint())
	}
	if c.maxRSS > 0 {
		go guardRSS(ctx, c.maxRSS)
	}
	run, err := drive(ctx, c)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(run)
}

// metadata is ScaledObject so's trigger metadata. The same keys go to every
// implementation; `source` is Tide's and KEDA's scalers ignore it.
func (c driveConfig) metadata(so int) map[string]string {
	if c.suite == "redis" {
		return map[string]string{
			"source":     "redis",
			"address":    c.redisAddr,
			"listName":   listName(so),
			"listLength": strconv.Itoa(c.listLength),
		}
	}
	return map[string]string{
		"source":           "kafka",
		"bootstrapServers": c.bootstrap,
		"consumerGroup":    groupName(so % c.groups),
		"topic":            mainTopic,
		"lagThreshold":     strconv.Itoa(c.lagThreshold),
	}
}

func listName(i int) string { return fmt.Sprintf("jobs-%05d", i) }

func drive(ctx context.Context, c driveConfig) (*Run, error) {
	scs, err := build(ctx, c)
	defer func() {
		for _, s := range scs {
			if s != nil {
				s.close()
			}
		}
	}()
	if err != nil {
		return nil, err
	}
	// Warm up: KEDA has been running; every scaler has answered once.
	if err := warmUp(ctx, len(scs), func(ctx context.Context, i int) error {
		_, _, err := scs[i].observe(ctx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}

	// Settle: a scaler that polls on its own (Tide, every 2 s) grows its
	// connection pool on its first regular poll after the warm-up; counting
	// from after it measures the steady state, as for KEDA's warmed clients.
	select {
	case <-time.After(c.settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	events := schedule(len(scs), c.window, c.polling, c.hpa, c.seed)
	before, err := c.upstream(ctx)
	if err != nil {
		return nil, err
	}
	srvBefore := c.serverCounters(ctx)
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)

	var (
		mu    sync.Mutex
		lat   = make([]float64, 0, len(events))
		nerr  int
		first string
		wg    sync.WaitGroup
	)
	t0 := time.Now()
	for _, ev := range events {
		if d := time.Until(t0.Add(ev.at)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		wg.Add(1)
		go func(sc *scaler) {
			defer wg.Done()
			octx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			start := time.Now()
			_, _, err := sc.observe(octx)
			d := time.Since(start)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if nerr == 0 {
					first = err.Error()
				}
				nerr++
				return
			}
			lat = append(lat, float64(d.Microseconds()))
		}(scs[ev.so])
	}
	wg.Wait()
	elapsed := time.Since(t0)
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	after, err := c.upstream(ctx)
	if err != nil {
		return nil, err
	}
	srvAfter := c.serverCounters(ctx)

	run := &Run{
		Suite: c.suite, Impl: c.impl, Scale: c.scale,
		Window: elapsed.Seconds(), Observations: len(events), Errors: nerr, FirstError: first,
		Requests: map[string]int{}, Conns: after.conns,
		Driver: selfFootprint(),
	}
	slices.Sort(lat)
	if len(lat) > 0 { // JSON has no NaN: a run with no answer keeps zeros
		run.P50, run.P99, run.Max = quantile(lat, 0.50), quantile(lat, 0.99), quantile(lat, 1)
	}
	n := float64(len(events))
	run.Allocs = float64(ms1.Mallocs-ms0.Mallocs) / n
	run.Bytes = float64(ms1.TotalAlloc-ms0.TotalAlloc) / n
	for k, v := range after.requests {
		if d := v - before.requests[k]; d > 0 {
			run.Requests[k] = d
			run.RequestsTotal += d
		}
	}
	run.PerObs = float64(run.RequestsTotal) / n
	run.PerMinute = float64(run.RequestsTotal) / elapsed.Minutes()
	if c.tidePID > 0 {
		run.Server = processFootprint(c.tidePID)
		run.Server.Goroutines = int(srvAfter["go_goroutines"])
		run.Server.Heap = int64(srvAfter["go_memstats_heap_inuse_bytes"])
		run.ServerAllocs = (srvAfter["go_memstats_mallocs_total"] - srvBefore["go_memstats_mallocs_total"]) / n
		run.ServerBytes = (srvAfter["go_memstats_alloc_bytes_total"] - srvBefore["go_memstats_alloc_bytes_total"]) / n
	}
	return run, nil
}

// warmUp calls observe(0..n-1), 16 at a time, each within 30 s. The first
// failure ends it and cancels the calls in flight: an implementation that
// cannot answer at this scale need not be asked thousands more times. The
// error is that first failure's, not a cancelled peer's.
func warmUp(ctx context.Context, n int, observe func(context.Context, int) error) error {
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		once  sync.Once
		first error
	)
	err := forEach(wctx, n, 16, func(i int) error {
		octx, cancel := context.WithTimeout(wctx, 30*time.Second)
		defer cancel()
		err := observe(octx, i)
		if err != nil {
			once.Do(func() { first = fmt.Errorf("#%d: %w", i, err) })
			stop()
		}
		return err
	})
	if first != nil {
		return first
	}
	return err
}

// build makes one scaler per ScaledObject, 8 at a time.
func build(ctx context.Context, c driveConfig) ([]*scaler, error) {
	scs := make([]*scaler, c.scale)
	err := forEach(ctx, c.scale, 8, func(i int) error {
		s, err := newScaler(ctx, c.impl, i, c.metadata(i), c.tideAddr)
		scs[i] = s
		return err
	})
	return scs, err
}

// forEach runs fn(0..n-1) on workers goroutines and returns the first error.
func forEach(ctx context.Context, n, workers int, fn func(int) error) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = fmt.Errorf("#%d: %w", i, err) })
				}
			}
		})
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// event is one GetMetricsAndActivity due at `at` after the window opens.
type event struct {
	at time.Duration
	so int
}

// schedule is KEDA's calls to n ScaledObjects within window: the loop's
// every polling and the HPA's every hpa, each ScaledObject at its own random
// phase (they were created at different times), in time order.
func schedule(n int, window, polling, hpa time.Duration, seed uint64) []event {
	r := rand.New(rand.NewPCG(seed, 0x71de))
	var evs []event
	for so := range n {
		for _, period := range []time.Duration{polling, hpa} {
			for t := time.Duration(r.Int64N(int64(period))); t < window; t += period {
				evs = append(evs, event{at: t, so: so})
			}
		}
	}
	slices.SortFunc(evs, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	return evs
}
