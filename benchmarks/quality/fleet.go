package quality

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// pod is one replica of the consumer Deployment.
type pod struct {
	id      int
	readyAt int     // second from which it is a group member
	rate    float64 // messages/s it processes with a backlog
}

// Fleet is the consumer group and its topic, advanced one second at a
// time by Tick. It is a fluid model: offsets are real numbers, and the
// scaler reads their floors.
//
//   - Pods: Scale(n) adds pods that join the group podStartSeconds later,
//     each with its own rate drawn around consumerRate (seeded, so a run
//     is deterministic); it removes pods not yet started first, then the
//     newest.
//   - Rebalance: every change of the members (a pod joining or leaving)
//     commits what was consumed and stops the whole group for
//     rebalanceSeconds; a change during a pause restarts it.
//   - Assignment: Kafka's range assignor over the members, oldest first:
//     with n members and P partitions the first P mod n members take one
//     partition more, and members beyond P take none.
//   - Consumption: each member shares its rate over its partitions in
//     proportion to their backlog; a stalled partition blocks its member.
//   - Commits: each member commits every commitIntervalSeconds, members a
//     second apart.
//   - Age: the oldest unprocessed message's age per partition, from the
//     exact arrival history (not what a scaler can see).
type Fleet struct {
	tr  *Trace
	rng *rand.Rand

	pods    []pod
	nextID  int
	members []int // ids of the pods in the group, oldest first
	owner   []int // partition -> index into members, -1 for none

	pausedUntil int
	rebalances  int

	produced, consumed, committed []float64
	// arrivals[p][s] is partition p's produced count at the end of second s.
	arrivals [][]float64
}

// NewFleet starts tr's fleet with its initial replicas, all members, on a
// caught-up topic, with no pause.
func NewFleet(tr *Trace) *Fleet {
	f := &Fleet{
		tr:        tr,
		rng:       rand.New(rand.NewPCG(uint64(tr.Fleet.Seed), 0x7469646571)),
		produced:  make([]float64, tr.Partitions),
		consumed:  make([]float64, tr.Partitions),
		committed: make([]float64, tr.Partitions),
		arrivals:  make([][]float64, tr.Partitions),
	}
	for range tr.Fleet.InitialReplicas {
		f.addPod(0)
	}
	f.assign()
	return f
}

func (f *Fleet) addPod(readyAt int) {
	spread := f.tr.Fleet.ConsumerRateSpread
	m := 1 + spread*f.rng.NormFloat64()
	m = min(max(m, 1-2*spread), 1+2*spread)
	f.pods = append(f.pods, pod{id: f.nextID, readyAt: readyAt, rate: f.tr.Fleet.ConsumerRate * m})
	f.nextID++
}

// Pods is the count of pods that exist, started or not.
func (f *Fleet) Pods() int { return len(f.pods) }

// Started counts the pods past their start delay at second now.
func (f *Fleet) Started(now int) int {
	n := 0
	for _, p := range f.pods {
		if p.readyAt <= now {
			n++
		}
	}
	return n
}

// Members is the count of pods in the group that hold a partition.
func (f *Fleet) Members() int { return min(len(f.members), f.tr.Partitions) }

// Paused reports whether the group is in a rebalance at second now.
func (f *Fleet) Paused(now int) bool { return now < f.pausedUntil }

// Rebalances counts the membership changes so far.
func (f *Fleet) Rebalances() int { return f.rebalances }

// Scale sets the pod count to n at second now.
func (f *Fleet) Scale(now, n int) {
	start := int(math.Round(f.tr.Fleet.PodStartSeconds))
	for len(f.pods) < n {
		f.addPod(now + start)
	}
	for len(f.pods) > n {
		drop := len(f.pods) - 1
		for i := len(f.pods) - 1; i >= 0; i-- {
			if f.pods[i].readyAt > now {
				drop = i
				break
			}
		}
		f.pods = slices.Delete(f.pods, drop, drop+1)
	}
}

// assign makes the initial pods the members, oldest first.
func (f *Fleet) assign() {
	for _, p := range f.pods {
		f.members = append(f.members, p.id)
	}
	f.owner = rangeAssign(f.tr.Partitions, len(f.members))
}

// rangeAssign is Kafka's RangeAssignor for one topic: partition -> member
// index, the first parts mod n members taking one more; -1 with no member.
func rangeAssign(parts, n int) []int {
	owner := make([]int, parts)
	if n == 0 {
		for p := range owner {
			owner[p] = -1
		}
		return owner
	}
	per, extra := parts/n, parts%n
	p := 0
	for m := 0; m < n && p < parts; m++ {
		take := per
		if m < extra {
			take++
		}
		for range take {
			owner[p] = m
			p++
		}
	}
	return owner
}

// rebalanceIfChanged compares the ready pods with the members and, on a
// change, commits, reassigns and starts (or restarts) the pause.
func (f *Fleet) rebalanceIfChanged(now int) {
	var ready []int
	for _, p := range f.pods {
		if p.readyAt <= now {
			ready = append(ready, p.id)
		}
	}
	sort.Ints(ready)
	if slices.Equal(ready, f.members) {
		return
	}
	// Consumers commit what they processed when their partitions are
	// revoked, so no work is redone.
	copy(f.committed, f.consumed)
	f.members = ready
	f.owner = rangeAssign(f.tr.Partitions, len(ready))
	f.pausedUntil = now + int(math.Round(f.tr.Rebalance()))
	f.rebalances++
}

// Tick advances the world through second now (from now to now+1).
func (f *Fleet) Tick(now int) {
	t := float64(now)
	if !f.tr.Fleet.ConsumeFirst {
		f.produce(t)
	}
	f.rebalanceIfChanged(now)
	if f.tr.Fleet.ConsumeFirst {
		defer f.produce(t)
	}
	if f.Paused(now) {
		return
	}
	rates := make(map[int]float64, len(f.pods))
	for _, p := range f.pods {
		rates[p.id] = p.rate
	}
	slow := f.tr.slowdown(t)
	for m, id := range f.members {
		var backlog float64
		blocked := false
		for p, o := range f.owner {
			if o == m {
				backlog += f.produced[p] - f.consumed[p]
				blocked = blocked || f.tr.stalled(p, t)
			}
		}
		if blocked || backlog <= 0 {
			continue
		}
		share := math.Min(rates[id]*slow, backlog) / backlog
		for p, o := range f.owner {
			if o == m {
				f.consumed[p] += (f.produced[p] - f.consumed[p]) * share
			}
		}
	}
	every := int(f.tr.Fleet.CommitIntervalSeconds)
	for p, o := range f.owner {
		if o >= 0 && (now+1+o)%every == 0 {
			f.committed[p] = f.consumed[p]
		}
	}
}

// produce adds second t's arrivals.
func (f *Fleet) produce(t float64) {
	for p := range f.produced {
		f.produced[p] += f.tr.RateAt(p, t)
		f.arrivals[p] = append(f.arrivals[p], f.produced[p])
	}
}

// Offsets returns partition p's log end and committed offset as a broker
// reports them.
func (f *Fleet) Offsets(p int) (logEnd, committed int64) {
	return int64(f.produced[p]), int64(f.committed[p])
}

// Age returns the age, at the end of second now, of partition p's oldest
// unprocessed message, in seconds: 0 when caught up. Arrivals are spread
// evenly within each second.
func (f *Fleet) Age(p, now int) float64 {
	c, h := f.consumed[p], f.arrivals[p]
	if len(h) == 0 || c >= h[len(h)-1]-1e-9 {
		return 0
	}
	// The message at position c arrived in the first second whose end
	// count exceeds c.
	s := sort.Search(len(h), func(i int) bool { return h[i] > c })
	before := 0.0
	if s > 0 {
		before = h[s-1]
	}
	frac := 0.0
	if h[s] > before {
		frac = (c - before) / (h[s] - before)
	}
	arrived := float64(s) + frac
	return math.Max(float64(now+1)-arrived, 0)
}

// MaxAge is the worst Age over the partitions.
func (f *Fleet) MaxAge(now int) float64 {
	worst := 0.0
	for p := range f.produced {
		worst = math.Max(worst, f.Age(p, now))
	}
	return worst
}
