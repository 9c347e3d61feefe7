package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runConfig is `compare run`.
type runConfig struct {
	out, root                 string
	repeats                   int
	window, tidePoll          time.Duration
	redisSettle               time.Duration
	kafkaScales, redisScales  []int
	bigScales                 []int // the kafka-big suite's
	fillerTopics, fillerParts int   // the kafka-big broker's extra topics
	partitions, groups        int
	records                   int
	trials, actIdle           int
	maxRSSMiB                 int
	skip, only                string
}

func runCmd(ctx context.Context, args []string) error {
	var c runConfig
	var ks, rs, bs string
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.StringVar(&c.out, "out", "../results", "where results.json, README.md and the plots go")
	fs.StringVar(&c.root, "root", "../..", "Tide's repository root (its scaler is built from there)")
	fs.IntVar(&c.repeats, "repeats", 3, "runs of every configuration; figures are medians")
	fs.DurationVar(&c.window, "window", 15*time.Second, "how long each configuration is observed")
	fs.DurationVar(&c.tidePoll, "tide-poll", 2*time.Second, "Tide's --poll-interval (its default)")
	fs.DurationVar(&c.redisSettle, "redis-settle", 12*time.Second, "wait after the warm-up before a Redis window opens: Tide paces a list's reads once its depth has stood still for 10 s, so a window that opens sooner counts its start-up, not its steady state")
	fs.StringVar(&ks, "kafka-scales", "100,1000,3000", "ScaledObjects per Kafka run")
	fs.StringVar(&rs, "redis-scales", "1000,10000", "lists (one ScaledObject each) per Redis run")
	fs.StringVar(&bs, "big-scales", "1000", "ScaledObjects per kafka-big run (the broker also holds the filler topics)")
	fs.IntVar(&c.fillerTopics, "filler-topics", 500, "empty topics the kafka-big broker holds besides the measured one")
	fs.IntVar(&c.fillerParts, "filler-partitions", 24, "partitions of every filler topic")
	fs.IntVar(&c.partitions, "partitions", 12, "partitions of the measured topic")
	fs.IntVar(&c.groups, "groups", 10, "consumer groups the ScaledObjects spread over")
	fs.IntVar(&c.records, "records", 40, "records per partition")
	fs.IntVar(&c.trials, "trials", 7, "activation trials per implementation")
	fs.IntVar(&c.actIdle, "activation-idle", 300, "idle triggers per implementation whose upstream cost the activation scenario counts")
	fs.IntVar(&c.maxRSSMiB, "max-rss-mib", 8192, "a driver whose RSS passes this many MiB stops at once and its run is a failure (0: no limit)")
	fs.StringVar(&c.skip, "skip", "", "comma-separated parts to skip: kafka, kafka-big, redis, cases, activation")
	fs.StringVar(&c.only, "impls", "", "comma-separated implementations to run (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.kafkaScales, err = ints(ks); err != nil {
		return fmt.Errorf("-kafka-scales: %w", err)
	}
	if c.redisScales, err = ints(rs); err != nil {
		return fmt.Errorf("-redis-scales: %w", err)
	}
	if c.bigScales, err = ints(bs); err != nil {
		return fmt.Errorf("-big-scales: %w", err)
	}
	if c.fillerTopics < 0 || c.fillerParts <= 0 {
		return fmt.Errorf("-filler-topics %d -filler-partitions %d: want ≥ 0 topics of ≥ 1 partition", c.fillerTopics, c.fillerParts)
	}
	raiseFileLimit()
	res := &Results{Started: time.Now().UTC(), Command: commandLine()}
	if err := orchestrate(ctx, c, res); err != nil {
		return err
	}
	res.Finished = time.Now().UTC()
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.out, "results.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return writeReport(c.out, res)
}

func reportCmd(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	dir := fs.String("dir", "../results", "directory holding results.json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(*dir, "results.json"))
	if err != nil {
		return err
	}
	var res Results
	if err := json.Unmarshal(b, &res); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	return writeReport(*dir, &res)
}

func orchestrate(ctx context.Context, c runConfig, res *Results) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "tide-compare-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tideBin := filepath.Join(tmp, "scaler")
	log.Printf("building Tide's scaler from %s", c.root)
	build := exec.CommandContext(ctx, "go", "build", "-o", tideBin, "./cmd/scaler")
	build.Dir, build.Stderr = c.root, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build tide: %w", err)
	}
	skip := map[string]bool{}
	for s := range strings.SplitSeq(c.skip, ",") {
		skip[strings.TrimSpace(s)] = true
	}
	res.Machine = machine()
	res.Versions = versions(c.root)
	res.Settings = Settings{
		Partitions: c.partitions, Groups: c.groups, Brokers: 3, Window: Duration(c.window), Repeats: c.repeats,
		PollingInterval: Duration(30 * time.Second), HPASync: Duration(15 * time.Second), TidePoll: Duration(c.tidePoll),
		KafkaScales: c.kafkaScales, RedisScales: c.redisScales, LagThreshold: 10, ListLength: 5,
		RedisSettle: Duration(c.redisSettle),
	}
	if !skip["kafka-big"] && len(c.bigScales) > 0 {
		res.Settings.BigScales, res.Settings.FillerTopics, res.Settings.FillerPartitions = c.bigScales, c.fillerTopics, c.fillerParts
	}

	var idle []Footprint
	for range 3 {
		var f Footprint
		if err := runJSON(ctx, self, &f, "drive", "-idle"); err != nil {
			return err
		}
		idle = append(idle, f)
	}
	res.Idle = medianFootprint(idle)

	d := driver{self: self, tideBin: tideBin, c: c}
	if !skip["kafka"] {
		if err := d.suite(ctx, res, "kafka", c.kafkaScales, []string{ImplTide, ImplTideSlow, ImplKEDAKafka, ImplKEDAApache, ImplFloor}); err != nil {
			return err
		}
	}
	if !skip["kafka-big"] && len(c.bigScales) > 0 {
		log.Printf("kafka-big: the broker also holds %d topics × %d partitions", c.fillerTopics, c.fillerParts)
		if err := d.suite(ctx, res, statsSuiteKafkaBig, c.bigScales, []string{ImplTide, ImplTideSlow, ImplKEDAKafka, ImplKEDAApache}); err != nil {
			return err
		}
	}
	if !skip["redis"] && len(c.redisScales) > 0 {
		rd, addr, err := startRedis(ctx, slices.Max(c.redisScales)+1000)
		if err != nil {
			return err
		}
		defer rd.stop()
		if err := seedLists(ctx, addr, slices.Max(c.redisScales)); err != nil {
			return err
		}
		d.redis = addr
		if err := d.suite(ctx, res, "redis", c.redisScales, []string{ImplTide, ImplTideSlow, ImplKEDARedis, ImplFloor}); err != nil {
			return err
		}
	}
	if !skip["cases"] {
		if err := d.withBroker(func(info brokerInfo) error {
			return d.withTide(ctx, c.tidePoll, func(t *tide) error {
				return runJSON(ctx, self, &res.Correctness, "cases", "-bootstrap", info.Bootstrap, "-tide-addr", t.grpc)
			})
		}); err != nil {
			return fmt.Errorf("cases: %w", err)
		}
	}
	if !skip["activation"] {
		log.Printf("activation: %d idle triggers per implementation, cost over 30 s, then %d trials each (~4 min)", c.actIdle, c.trials)
		rd, addr, err := startRedis(ctx, 4*c.actIdle+1000)
		if err != nil {
			return err
		}
		defer rd.stop()
		var out activationOut
		if err := d.withBroker(func(info brokerInfo) error {
			return d.withTide(ctx, c.tidePoll, func(t *tide) error {
				return runJSON(ctx, self, &out, "activation", "-bootstrap", info.Bootstrap, "-control", info.Control,
					"-redis", addr, "-tide-addr", t.grpc, "-trials", strconv.Itoa(c.trials), "-idle", strconv.Itoa(c.actIdle))
			})
		}); err != nil {
			return fmt.Errorf("activation: %w", err)
		}
		res.Activation, res.ActivationCost = out.Trials, out.Cost
	}
	return nil
}

// withBroker runs fn against a fresh, seeded kfake cluster. Every run gets
// its own, so no run inherits another's connections, and a peer that
// exhausts the broker process's file descriptors fails only its own run.
func (d driver) withBroker(fn func(brokerInfo) error) error { return d.withBrokerFillers(0, fn) }

// withBrokerFillers is withBroker on a cluster that also holds fillers
// empty topics of d.c.fillerParts partitions each (the kafka-big suite's).
func (d driver) withBrokerFillers(fillers int, fn func(brokerInfo) error) error {
	b, info, err := startBroker(d.self, d.c.partitions, d.c.groups, d.c.records,
		"-filler-topics", strconv.Itoa(fillers), "-filler-partitions", strconv.Itoa(d.c.fillerParts))
	if err != nil {
		return err
	}
	defer b.stop()
	return fn(info)
}

// driver runs `compare drive` children.
type driver struct {
	self, tideBin string
	c             runConfig
	redis         string
}

// suite runs every implementation at every scale, repeats times. The order
// of implementations rotates per repeat so none always runs first.
func (d driver) suite(ctx context.Context, res *Results, suite string, scales []int, impls []string) error {
	failed := map[string]bool{}
	for r := range d.c.repeats {
		for _, scale := range scales {
			for i := range impls {
				impl := impls[(i+r)%len(impls)]
				key := fmt.Sprintf("%s/%d", impl, scale)
				if failed[key] || (d.c.only != "" && !slices.Contains(strings.Split(d.c.only, ","), impl)) {
					continue
				}
				start := time.Now()
				run, err := d.one(ctx, suite, impl, scale, r)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					// A peer that cannot run at this scale here is a
					// finding, not the end of the comparison.
					log.Printf("%s %s at %d could not run: %v", suite, impl, scale, err)
					res.Failures = append(res.Failures, Failure{Suite: suite, Impl: impl, Scale: scale, Error: err.Error()})
					failed[key] = true
					continue
				}
				run.Repeat = r
				res.Runs = append(res.Runs, *run)
				log.Printf("%s %-18s %5d  repeat %d: %5d obs %3d errors  p99 %7.0f µs  %8.0f req/min  rss %6.1f MiB (server %5.1f)  took %s",
					suite, impl, scale, r, run.Observations, run.Errors, run.P99, run.PerMinute,
					float64(run.Driver.RSS)/(1<<20), float64(run.Server.RSS)/(1<<20), time.Since(start).Round(time.Second))
			}
		}
	}
	return nil
}

func (d driver) one(ctx context.Context, suite, impl string, scale, repeat int) (*Run, error) {
	var run Run
	with := d.withBroker
	switch suite {
	case "redis": // Redis runs need no Kafka
		with = func(fn func(brokerInfo) error) error { return fn(brokerInfo{}) }
	case statsSuiteKafkaBig:
		with = func(fn func(brokerInfo) error) error { return d.withBrokerFillers(d.c.fillerTopics, fn) }
	}
	err := with(func(broker brokerInfo) error {
		args := []string{"drive", "-suite", suite, "-impl", impl, "-scale", strconv.Itoa(scale),
			"-groups", strconv.Itoa(d.c.groups), "-window", d.c.window.String(), "-seed", strconv.Itoa(repeat + 1),
			"-bootstrap", broker.Bootstrap, "-control", broker.Control, "-redis", d.redis,
			"-max-rss-mib", strconv.Itoa(d.c.maxRSSMiB)}
		if suite == "redis" {
			args = append(args, "-settle", d.c.redisSettle.String())
		}
		call := func(extra ...string) error {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			defer cancel()
			return runJSON(rctx, d.self, &run, append(args, extra...)...)
		}
		if impl == ImplFloor {
			f, addr, err := startFloor(ctx, d.self)
			if err != nil {
				return err
			}
			defer f.stop()
			return call("-tide-addr", addr)
		}
		if impl != ImplTide && impl != ImplTideSlow {
			return call()
		}
		poll := d.c.tidePoll
		if impl == ImplTideSlow {
			poll = 15 * time.Second
		}
		return d.withTide(ctx, poll, func(t *tide) error {
			return call("-tide-addr", t.grpc, "-tide-http", t.http, "-tide-pid", strconv.Itoa(t.pid()))
		})
	})
	return &run, err
}

// withTide runs fn against a fresh Tide scaler.
func (d driver) withTide(ctx context.Context, poll time.Duration, fn func(*tide) error) error {
	t, err := startTide(ctx, d.tideBin, poll)
	if err != nil {
		return err
	}
	defer t.stop()
	return fn(t)
}

func ints(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func medianFootprint(fs []Footprint) Footprint {
	pick := func(get func(Footprint) int64) int64 {
		xs := make([]float64, len(fs))
		for i, f := range fs {
			xs[i] = float64(get(f))
		}
		return int64(median(xs))
	}
	return Footprint{
		RSS:        pick(func(f Footprint) int64 { return f.RSS }),
		PeakRSS:    pick(func(f Footprint) int64 { return f.PeakRSS }),
		Heap:       pick(func(f Footprint) int64 { return f.Heap }),
		Goroutines: int(pick(func(f Footprint) int64 { return int64(f.Goroutines) })),
		FDs:        int(pick(func(f Footprint) int64 { return int64(f.FDs) })),
	}
}

// raiseFileLimit lifts this process's open-file limit, which every child
// inherits: 3,000 KEDA Kafka scalers hold one connection per broker each,
// 10,000 Redis scalers one each, and the broker and redis-server hold the
// other ends. A root process may raise the hard limit too.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return
	}
	want := uint64(200_000)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(want, lim.Max)}); err != nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if lim.Cur < want {
		log.Printf("open-file limit is %d: the largest runs may fail to connect", lim.Cur)
	}
}
