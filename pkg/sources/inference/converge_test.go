package inference

import (
	"math"
	"regexp"
	"strconv"
	"testing"
	"time"
)

var learnedRe = regexp.MustCompile(`learned prefill capacity (\S+) tokens/s per replica`)

// learnedCapacity is the capacity slo/ttft reports, NaN before it is learned.
func learnedCapacity(info string) float64 {
	m := learnedRe.FindStringSubmatch(info)
	if m == nil {
		return math.NaN()
	}
	c, _ := strconv.ParseFloat(m[1], 64)
	return c
}

// TestReplicasLearnTheSameCapacity: learned capacity needs no forwarding.
// Two scaler replicas scrape the same real HTTP pods on their own (two
// upstreams, as two processes have); the second starts 100 s later and
// polls half a second out of phase with the first. Both learn the TTFT
// curve from the pods' own counters and histograms, and once the second
// has seen the fleet for a while they report the same learned capacity
// (within 2 %) and give the same decision in at least 99 % of the seconds;
// the rest are one replica apart for one second, at a goal's hysteresis
// edge during a step down (the curves are moving averages over what each
// replica saw, so a replica that joined later can cross an edge a second
// apart from the other).
func TestReplicasLearnTheSameCapacity(t *testing.T) {
	f := newSimFleet(t, 14)
	env := fullEnv()
	env.Discovery = f.disc
	md := with("targets", "<unset>", "service", "vllm", "namespace", "ai", "port", "http",
		"targetRequestRate", "1.2", "targetTTFT", "p90:500ms")
	first := newPoller(t, parseOK(t, md, env))
	f.follow(first.now, 2)
	f.startNow(first.now)
	demand := rampDemand
	const joins, from = 100, 300 // the second replica starts; the answers are compared from
	var second *poller
	differ, lastDiffer := 0, -2
	var c1, c2 float64
	for sec := range 630 {
		for _, pod := range f.ready {
			pod.serve(demand(sec) / float64(len(f.ready)))
		}
		s1 := first.mustPoll(time.Second)
		if sec == joins {
			second = newPoller(t, parseOK(t, md, env))
			second.now = first.now.Add(-time.Second / 2)
		}
		if second != nil {
			s2 := second.mustPoll(time.Second)
			if sec >= from {
				if s1.Value != s2.Value {
					differ++
					t.Logf("at %d s: first %v (%s), second %v (%s)", sec, s1.Value, s1.Parts[0].Info, s2.Value, s2.Parts[0].Info)
					if math.Abs(s1.Value-s2.Value) > 1 || lastDiffer == sec-1 {
						t.Errorf("at %d s: the replicas are more than one replica or more than one second apart", sec)
					}
					lastDiffer = sec
				}
				c1, c2 = learnedCapacity(mustPart(t, s1, "slo/ttft").Info), learnedCapacity(mustPart(t, s2, "slo/ttft").Info)
			}
		}
		f.follow(first.now, int(s1.Value))
	}
	if differ > (630-from)/100 {
		t.Errorf("the replicas decided differently in %d of %d seconds; want at most 1 %%", differ, 630-from)
	}
	t.Logf("the replicas decided differently in %d of %d seconds", differ, 630-from)
	if !(math.Abs(c2/c1-1) < 0.02) {
		t.Errorf("learned capacity: first %v, second %v tokens/s per replica; want within 2 %%", c1, c2)
	}
	t.Logf("learned capacity: first %.4g, second %.4g tokens/s per replica", c1, c2)
}
