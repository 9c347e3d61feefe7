package main

import (
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"time"
)

// kafkaCase is a consumer group whose correct lag and replicas are known
// and where a naive sum goes wrong. The broker seeds it at start.
type kafkaCase struct {
	name, desc string
	topic      string // "" for none
	partitions int32
	records    int
	logStart   int64 // retention moved the log start here (0: untouched)
	group      string
	commits    map[int32]int64 // partitions missing here have no commit (-1)
	md         map[string]string
	wantLag    float64
	wantRepl   int
	wantErr    bool
	why        string
}

func uniform(parts int32, off int64) map[int32]int64 {
	m := map[int32]int64{}
	for p := range parts {
		m[p] = off
	}
	return m
}

var kafkaCases = []kafkaCase{
	{
		name: "negative-lag", desc: "6 partitions of 10; partition 0 committed at 40, beyond its end (topic recreated, or an unclean election truncated it); the rest at 5",
		topic: "case-negative", partitions: 6, records: 10, group: "case-negative",
		commits: map[int32]int64{0: 40, 1: 5, 2: 5, 3: 5, 4: 5, 5: 5},
		wantLag: 25, wantRepl: 3,
		why: "a commit past the log end gives partition 0 a lag of -30; summed, it cancels the 25 messages waiting on the other partitions and the total goes negative, so the ScaledObject is inactive and scales to zero with work queued",
	},
	{
		name: "partition-cap", desc: "6 partitions, lagThreshold 10, total lag 65 (11 on five partitions, 10 on one)",
		topic: "case-cap", partitions: 6, records: 20, group: "case-cap",
		commits: map[int32]int64{0: 9, 1: 9, 2: 9, 3: 9, 4: 9, 5: 10},
		wantLag: 65, wantRepl: 6,
		why: "the cap compares lag/threshold with the partition count in integer division (65/10 = 6, not above 6), so 65 passes uncapped and the HPA's ceil(65/10) asks for 7 consumers for 6 partitions: one idles",
	},
	{
		name: "invalid-offset", desc: "6 partitions; retention moved every log start to 4 of 10; partitions 0-2 committed at their end, 3-5 never committed (offset -1); offsetResetPolicy earliest",
		topic: "case-invalid", partitions: 6, records: 10, logStart: 4, group: "case-invalid",
		commits: map[int32]int64{0: 10, 1: 10, 2: 10},
		md:      map[string]string{"offsetResetPolicy": "earliest"},
		wantLag: 18, wantRepl: 2,
		why: "a consumer without a commit starts at the earliest retained offset (4), so its lag is end - start = 6 per partition; counting from offset 0 counts records retention already deleted",
	},
	{
		name: "no-commits-no-topic", desc: "a group that has never committed, and no topic in the trigger",
		group: "case-nothing", partitions: 0,
		wantErr: true,
		why:     "with no topic and no commits there is nothing to measure: any number is a guess, and 0 scales the workload away; the honest answer is an error (KEDA then keeps the current count)",
	},
}

func casesCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cases", flag.ContinueOnError)
	bootstrap := fs.String("bootstrap", "", "Kafka bootstrap servers")
	tideAddr := fs.String("tide-addr", "", "Tide's gRPC address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var out []CaseResult
	for ci, kc := range kafkaCases {
		for i, impl := range []string{ImplTide, ImplKEDAKafka, ImplKEDAApache} {
			out = append(out, runCase(ctx, kc, impl, 90000+10*ci+i, *bootstrap, *tideAddr))
		}
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}

// runCase builds impl's scaler for the case and reads it as KEDA would:
// once to warm up (KEDA has been running), then the observation reported.
func runCase(ctx context.Context, kc kafkaCase, impl string, so int, bootstrap, tideAddr string) CaseResult {
	res := CaseResult{Case: kc.name, Description: kc.desc, Impl: impl,
		WantLag: kc.wantLag, WantRepl: kc.wantRepl, WantError: kc.wantErr, Why: kc.why}
	md := map[string]string{
		"source": "kafka", "bootstrapServers": bootstrap, "consumerGroup": kc.group, "lagThreshold": "10",
	}
	if kc.topic != "" {
		md["topic"] = kc.topic
	}
	for k, v := range kc.md {
		md[k] = v
	}
	octx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	sc, err := newScaler(octx, impl, so, md, tideAddr)
	if err == nil {
		defer sc.close()
		_, _, _ = sc.observe(octx)
		res.Lag, res.Active, err = sc.observe(octx)
	}
	if err != nil {
		res.Error = err.Error()
		res.Replicas = -1
	} else {
		res.Replicas = implied(res.Lag, res.Active, sc.target)
	}
	res.Correct = (kc.wantErr && err != nil) || (!kc.wantErr && err == nil && res.Replicas == kc.wantRepl)
	return res
}

// implied is the replica count KEDA and the HPA arrive at from one
// observation: 0 when inactive (scale to zero), else the HPA's
// AverageValue arithmetic ceil(value/target), at least 1.
func implied(value float64, active bool, target float64) int {
	if !active {
		return 0
	}
	if target <= 0 {
		return 1
	}
	return max(1, int(math.Ceil(value/target)))
}
