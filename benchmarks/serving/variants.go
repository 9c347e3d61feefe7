package serving

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// Variant is one Deployment of a model on one kind of GPU.
type Variant struct {
	Name         string
	Cost         float64 // per pod per second, relative
	Engine       Engine
	Initial, Max int
}

// VariantScenario is one model served by several Deployments on different
// GPUs behind one least-outstanding-requests router over all their pods.
// The trace gives the arrivals, the goals, startSeconds and
// kpaConcurrency; its fleet's initial and max are the variants'.
type VariantScenario struct {
	Trace    *Trace
	Variants []Variant
	// Cooldown is the ScaledObjects' cooldownPeriod, seconds: an inactive
	// trigger's Deployment goes to zero this long after it became
	// inactive (minReplicaCount 0; KEDA's default is 300).
	Cooldown int
}

// SlowEngine is a GPU 2.5× slower than DefaultEngine in every part of an
// iteration, with half its batch and KV cache: an L4-class card to
// DefaultEngine's H100 class.
func SlowEngine() Engine {
	e := DefaultEngine()
	e.Base, e.PrefillPerToken, e.DecodePerSeq, e.AttnPerKVToken = 2.5*e.Base, 2.5*e.PrefillPerToken, 2.5*e.DecodePerSeq, 2.5*e.AttnPerKVToken
	e.MaxSeqs, e.KVTokens = e.MaxSeqs/2, e.KVTokens/2
	return e
}

// VariantOutcome is one policy's replay of a variant scenario.
type VariantOutcome struct {
	Policy                     string
	Requests                   int
	Attainment, TTFTOK, TPOTOK float64
	AvgCost                    float64   // pods × cost summed over the variants, averaged over seconds
	AvgPods                    []float64 // per variant
	ScaleEvents                int
	MissesPerMinute            []int // finished requests outside a goal, by the minute they arrived
}

// Variant policies.
const (
	// PolicyEach sizes each Deployment with its own tide-goal trigger on
	// its own pods (a Service per Deployment), as without variants.
	PolicyEach = "tide-each"
	// PolicySplit gives every Deployment a trigger with the same variants
	// list: one shared scrape, the demand split at the least cost.
	PolicySplit = "tide-variants"
)

// RunVariants replays sc under policy (PolicyEach or PolicySplit), one
// simulated second at a time: the router spreads the second's arrivals
// over every ready pod of every variant, each pod serves, then the
// triggers are polled and each Deployment's HPA (every 15 s, exact
// behavior) and KEDA's activation set its replicas.
func RunVariants(sc VariantScenario, policy string) (out VariantOutcome, err error) {
	tr := sc.Trace
	n := len(sc.Variants)
	fleets := make([]*Fleet, n)
	loops := make([]*hpaLoop, n)
	spec := make([]int, n)
	for i, v := range sc.Variants {
		fleets[i] = NewFleet(v.Engine, tr.Fleet.StartSeconds, v.Initial)
		loops[i] = &hpaLoop{spec: hpa.HPA{MinReplicas: 1, MaxReplicas: int32(v.Max), Behavior: exactBehavior()}, cfg: hpa.DefaultConfig()}
		spec[i] = v.Initial
	}
	pub, err := newVariantTriggers(sc, policy)
	if err != nil {
		return out, err
	}
	defer func() { err = errors.Join(err, pub.close()) }()
	out = VariantOutcome{Policy: policy, AvgPods: make([]float64, n)}
	arrivals := tr.Requests()
	inactiveSince := make([]int, n)
	for i := range inactiveSince {
		inactiveSince[i] = -1
	}
	var all, gateway []*Request
	cost := 0.0
	for now := range tr.Seconds {
		all = append(all, arrivals[now]...)
		q := gateway
		gateway = nil
		for _, r := range append(q, arrivals[now]...) {
			if !routeAcross(max(float64(now), r.Arrival), fleets, r) {
				gateway = append(gateway, r)
			}
		}
		for _, f := range fleets {
			f.Step(float64(now), nil)
		}
		end := now + 1
		samples, err := pub.poll(end, fleets)
		if err != nil {
			return out, err
		}
		for i, f := range fleets {
			s := samples[i]
			// KEDA with minReplicaCount 0: an active trigger takes the
			// Deployment from 0 to 1; from 1 up the HPA (minReplicas 1)
			// follows the metric, active or not; an inactive one goes to
			// 0 after the cooldown.
			desired, set := 0, false
			if s.Activity > 0 {
				inactiveSince[i] = -1
			} else if inactiveSince[i] < 0 {
				inactiveSince[i] = end
			}
			switch {
			case s.Activity > 0 && spec[i] == 0:
				desired, set = 1, true
			case s.Activity == 0 && end-inactiveSince[i] >= sc.Cooldown:
				desired, set = 0, true
			case spec[i] > 0:
				ready, starting := f.Counts(float64(end))
				v := &view{now: end, spec: spec[i], pods: f.Pods(), ready: ready, starting: starting, fleet: f}
				desired, set = loops[i].sync(v, replicasMetric(max(s.Value, 1)))
			}
			if set && desired != spec[i] {
				out.ScaleEvents++
				spec[i] = desired
				f.Scale(float64(end), desired)
			}
			out.AvgPods[i] += float64(f.Pods()) / float64(tr.Seconds)
			cost += float64(f.Pods()) * sc.Variants[i].Cost
		}
	}
	out.AvgCost = cost / float64(tr.Seconds)
	var o Outcome
	judge(tr, all, float64(tr.Seconds), &o)
	out.MissesPerMinute = make([]int, (tr.Seconds+59)/60)
	for _, r := range all {
		if r.Done > 0 && (r.TTFT() > tr.ttft.sec || r.TPOT() > tr.tpot.sec) {
			out.MissesPerMinute[min(int(r.Arrival)/60, len(out.MissesPerMinute)-1)]++
		}
	}
	out.Requests, out.Attainment, out.TTFTOK, out.TPOTOK = o.Requests, o.Attainment, o.TTFTOK, o.TPOTOK
	return out, nil
}

// routeAcross gives r to the ready pod, of any variant, with the fewest
// outstanding requests.
func routeAcross(now float64, fs []*Fleet, r *Request) bool {
	var best *member
	for _, f := range fs {
		for _, m := range f.members {
			if m.ready(now) && (best == nil || m.pod.Outstanding() < best.pod.Outstanding()) {
				best = m
			}
		}
	}
	if best == nil {
		return false
	}
	best.pod.Add(r)
	return true
}

// variantTriggers are the Tide triggers of a variant policy: the real
// trigger's upstream(s) scraping the pods over loopback HTTP.
type variantTriggers struct {
	split bool
	names []string // the variants' Deployments
	trs   []*inference.Trigger
	ups   []sources.Upstream // one shared (split) or one per variant (each)
	discs []*fleetDiscovery
	pods  []*tide // per discovery: the slots behind it
	last  []sources.Sample
	err   error
}

func newVariantTriggers(sc VariantScenario, policy string) (*variantTriggers, error) {
	if policy != PolicyEach && policy != PolicySplit {
		return nil, fmt.Errorf("unknown variant policy %q", policy)
	}
	t := &variantTriggers{split: policy == PolicySplit, last: make([]sources.Sample, len(sc.Variants))}
	for _, v := range sc.Variants {
		t.names = append(t.names, v.Name)
	}
	list := make([]string, len(sc.Variants))
	for i, v := range sc.Variants {
		list[i] = v.Name + "=" + strconv.FormatFloat(v.Cost, 'g', -1, 64)
	}
	for i, v := range sc.Variants {
		md := TideMetadata(sc.Trace)
		delete(md, "source")
		md["service"] = v.Name
		if t.split {
			md["service"], md["variants"], md["variant"] = "llama", strings.Join(list, ","), v.Name
		}
		if i == 0 || !t.split {
			t.discs = append(t.discs, &fleetDiscovery{})
			t.pods = append(t.pods, &tide{slots: map[string]*slot{}})
		}
		trig, err := inference.Parse(md, inference.Env{Discovery: t.discs[len(t.discs)-1]})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("variant %s trigger %v: %w", v.Name, md, err), t.close())
		}
		t.trs = append(t.trs, trig)
		if i == 0 || !t.split {
			up, err := trig.Query().Open()
			if err != nil {
				return nil, errors.Join(err, t.close())
			}
			t.ups = append(t.ups, up)
		}
	}
	return t, nil
}

// poll publishes every pod (named as its Deployment's pods are,
// <variant>-<hash>-<pod>) and polls the triggers at the simulated second.
func (t *variantTriggers) poll(now int, fleets []*Fleet) ([]sources.Sample, error) {
	at := epoch.Add(time.Duration(now) * time.Second)
	var rs []sources.Result
	if t.split {
		if err := t.pods[0].publishNamed(now, fleets, t.names, t.discs[0]); err != nil {
			return nil, err
		}
		qs := make([]sources.Query, len(t.trs))
		for i, tr := range t.trs {
			qs[i] = tr.Query()
		}
		rs = t.ups[0].Poll(context.Background(), at, qs)
	} else {
		for i := range fleets {
			if err := t.pods[i].publishNamed(now, fleets[i:i+1], t.names[i:i+1], t.discs[i]); err != nil {
				return nil, err
			}
			rs = append(rs, t.ups[i].Poll(context.Background(), at, []sources.Query{t.trs[i].Query()})...)
		}
	}
	for i, r := range rs {
		if r.Err != nil {
			if t.err == nil {
				t.err = fmt.Errorf("poll at %d s, variant %d: %w", now, i, r.Err)
			}
			continue // the last sample holds, as KEDA's last metric would
		}
		t.last[i] = r.Sample
	}
	return t.last, nil
}

func (t *variantTriggers) close() error { return closeAll(t.err, t.pods, t.ups) }

// closeAll stops pods' servers and closes ups, joining err with theirs.
func closeAll(err error, pods []*tide, ups []sources.Upstream) error {
	errs := []error{err}
	for _, p := range pods {
		p.closeServers()
	}
	for _, u := range ups {
		errs = append(errs, u.Close())
	}
	return errors.Join(errs...)
}

// publishNamed puts the pods of fleets behind t's servers and lists them
// in disc, each named as a pod of its Deployment: <name>-5d8f7c-p<n>.
func (t *tide) publishNamed(now int, fleets []*Fleet, names []string, disc *fleetDiscovery) error {
	return t.publishPods(now, fleets, func(i int, m *member) string {
		return names[i] + "-5d8f7c-p" + strings.TrimPrefix(m.name, "vllm-")
	}, disc)
}
