package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Activation implementations: Tide pushing through KEDA's external-push
// scaler, and KEDA's own scalers polled by its loop every 1 s or every 30 s
// (the default pollingInterval), for Kafka and for Redis.
const (
	ActTidePush     = "tide-push"      // Kafka
	ActKEDA1s       = "keda-kafka-1s"  // KEDA's kafka scaler, pollingInterval 1 s
	ActKEDA30s      = "keda-kafka-30s" // KEDA's kafka scaler, pollingInterval 30 s
	ActTideRedis    = "tide-push-redis"
	ActKEDARedis1s  = "keda-redis-1s"
	ActKEDARedis30s = "keda-redis-30s"
)

// actImpl is one activation implementation: which suite it watches, and
// its cycle (KEDA's pollingInterval; Tide's poll interval, which its
// activation probe divides).
type actImpl struct {
	name, suite string
	push        bool
	cycle       time.Duration
}

// actFamilies run one after the other, Kafka and Redis side by side, so
// that each family's upstream cost is counted alone. Tide runs last: its
// engine keeps polling the triggers of a closed stream for a while, which
// must not land in a KEDA window.
var actFamilies = [][2]actImpl{
	{{ActKEDA30s, "kafka", false, 30 * time.Second}, {ActKEDARedis30s, "redis", false, 30 * time.Second}},
	{{ActKEDA1s, "kafka", false, time.Second}, {ActKEDARedis1s, "redis", false, time.Second}},
	{{ActTidePush, "kafka", true, 2 * time.Second}, {ActTideRedis, "redis", true, 2 * time.Second}},
}

// activationOut is what `compare activation` prints.
type activationOut struct {
	Trials []ActivationResult `json:"trials"`
	Cost   []ActivationCost   `json:"cost"`
}

type actConfig struct {
	bootstrap, control, redisAddr, tideAddr string
	trials, idle                            int
	window                                  time.Duration
	seed                                    uint64
}

// activationCmd measures, per implementation, what keeping idle triggers
// ready costs the upstream (requests or commands per idle trigger per
// minute, over a window with idle triggers only) and how fast a first
// message activates one (trials on some of the same triggers).
func activationCmd(ctx context.Context, args []string) error {
	var c actConfig
	fs := flag.NewFlagSet("activation", flag.ContinueOnError)
	fs.StringVar(&c.bootstrap, "bootstrap", "", "Kafka bootstrap servers")
	fs.StringVar(&c.control, "control", "", "the broker's control URL (/counts)")
	fs.StringVar(&c.redisAddr, "redis", "", "redis-server address (\"\": Kafka only)")
	fs.StringVar(&c.tideAddr, "tide-addr", "", "Tide's gRPC address")
	fs.IntVar(&c.trials, "trials", 7, "activation trials per implementation")
	fs.IntVar(&c.idle, "idle", 300, "idle triggers per implementation during the cost window")
	fs.DurationVar(&c.window, "cost-window", 30*time.Second, "how long the idle triggers' upstream cost is counted")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the message times")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.trials > c.idle {
		return fmt.Errorf("-trials %d is more than -idle %d", c.trials, c.idle)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.bootstrap, ",")...), kgo.ProducerLinger(0))
	if err != nil {
		return err
	}
	defer cl.Close()
	var rc *redis.Client
	if c.redisAddr != "" {
		rc = redis.NewClient(&redis.Options{Addr: c.redisAddr, Protocol: 2, DisableIdentity: true})
		defer rc.Close()
	}
	var out activationOut
	r := rand.New(rand.NewPCG(c.seed, 2))
	for _, fam := range actFamilies {
		var impls []actImpl
		for _, im := range fam {
			if im.suite == "kafka" || rc != nil {
				impls = append(impls, im)
			}
		}
		if err := createIdle(ctx, kadm.NewClient(cl), impls, c.idle); err != nil {
			return err
		}
		trials, cost, err := runFamily(ctx, c, cl, rc, impls, r)
		if err != nil {
			return err
		}
		out.Trials, out.Cost = append(out.Trials, trials...), append(out.Cost, cost...)
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// idleName is trigger i of impl: its topic and group, or its list.
func idleName(impl string, i int) string { return fmt.Sprintf("act-%s-%04d", impl, i) }

// createIdle creates the Kafka implementations' empty topics, one partition
// each, with their groups committed at 0. Redis lists need nothing: an
// empty list is a missing key.
func createIdle(ctx context.Context, adm *kadm.Client, impls []actImpl, n int) error {
	for _, im := range impls {
		if im.suite != "kafka" {
			continue
		}
		topics := make([]string, n)
		for i := range n {
			topics[i] = idleName(im.name, i)
		}
		res, err := adm.CreateTopics(ctx, 1, 1, nil, topics...)
		if err == nil {
			err = res.Error()
		}
		if err != nil {
			return fmt.Errorf("create %s topics: %w", im.name, err)
		}
		err = forEach(ctx, n, 16, func(i int) error {
			var os kadm.Offsets
			os.AddOffset(topics[i], 0, 0, -1)
			return adm.CommitAllOffsets(ctx, topics[i], os)
		})
		if err != nil {
			return fmt.Errorf("commit %s groups: %w", im.name, err)
		}
	}
	return nil
}

// runFamily starts every implementation's idle watchers, counts the
// upstream's requests over the window, then runs the trials.
func runFamily(ctx context.Context, c actConfig, cl *kgo.Client, rc *redis.Client, impls []actImpl, r *rand.Rand) ([]ActivationResult, []ActivationCost, error) {
	ws := map[string][]*watcher{}
	defer func() {
		for _, list := range ws {
			for _, w := range list {
				w.close()
			}
		}
	}()
	for _, im := range impls {
		list := make([]*watcher, c.idle)
		err := forEach(ctx, c.idle, 8, func(i int) error {
			w, err := startWatcher(ctx, im, actMetadata(c, im, idleName(im.name, i)), c.tideAddr)
			list[i] = w
			return err
		})
		ws[im.name] = list
		if err != nil {
			return nil, nil, fmt.Errorf("%s watchers: %w", im.name, err)
		}
	}
	// Settle: every watcher has made its first check, and Tide has taken
	// its first samples and begun probing.
	if err := sleepCtx(ctx, 5*time.Second); err != nil {
		return nil, nil, err
	}
	log.Printf("activation cost: %d idle triggers each of %s for %s", c.idle, implNames(impls), c.window)
	cost, err := measureCost(ctx, c, rc, impls)
	if err != nil {
		return nil, nil, err
	}
	var (
		mu  sync.Mutex
		out []ActivationResult
		wg  sync.WaitGroup
	)
	for _, im := range impls {
		for t := range c.trials {
			phase := r.Float64()
			w := ws[im.name][t]
			wg.Go(func() {
				secs, err := trial(ctx, cl, rc, im, w, idleName(im.name, t), phase)
				res := ActivationResult{Impl: im.name, Trial: t, Seconds: secs.Seconds()}
				if err != nil {
					res.Error = err.Error()
				}
				mu.Lock()
				out = append(out, res)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return out, cost, nil
}

func implNames(impls []actImpl) string {
	var s []string
	for _, im := range impls {
		s = append(s, im.name)
	}
	return strings.Join(s, " and ")
}

// trial writes the first message at a random phase of the watcher's cycle
// and returns how long after the upstream acknowledged it the watcher first
// said active.
func trial(ctx context.Context, cl *kgo.Client, rc *redis.Client, im actImpl, w *watcher, name string, phase float64) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := sleepCtx(ctx, time.Duration(phase*float64(im.cycle))); err != nil {
		return 0, err
	}
	var err error
	if im.suite == "kafka" {
		err = cl.ProduceSync(ctx, &kgo.Record{Topic: name, Value: []byte("first")}).FirstErr()
	} else {
		err = rc.RPush(ctx, name, "first").Err()
	}
	if err != nil {
		return 0, fmt.Errorf("first message: %w", err)
	}
	sent := time.Now()
	for {
		select {
		case at := <-w.active:
			if at.After(sent) {
				return at.Sub(sent), nil
			}
		case <-ctx.Done():
			return 0, fmt.Errorf("no activation within the deadline: %w", ctx.Err())
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
