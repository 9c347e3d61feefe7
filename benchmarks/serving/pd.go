package serving

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// Disaggregated serving (prefill/decode): a request is prefilled on a pod
// of the prefill Deployment (its first token comes with the prefill), its
// KV cache goes to a pod of the decode Deployment (no transfer time), which
// generates the rest. Each Deployment has its own least-outstanding
// router. The user's TTFT is the prefill's, the TPOT the decode's.

// PD policies.
const (
	// PolicyCombined is one Tide trigger over both Deployments' pods with
	// both goals: its count is the pods of the pair, split evenly (one
	// signal for both roles, as without per-role scaling).
	PolicyCombined = "tide-combined"
	// PolicyRoles is a trigger per role: prefill (targetTTFT) on the
	// prefill pods, decode (targetTPOT) on the decode pods.
	PolicyRoles = "tide-roles"
)

// PDOutcome is one policy's replay of a disaggregated trace.
type PDOutcome struct {
	Policy                     string
	Requests                   int
	Attainment, TTFTOK, TPOTOK float64
	AvgPods                    [2]float64 // prefill, decode
	ScaleEvents                int
	// Series is the prefill and the decode pods every SeriesEvery seconds.
	Series [2][]int
	// MissesPerMinute are the finished requests outside a goal, by the
	// minute they arrived.
	MissesPerMinute []int
}

// RunPD replays the phases one after the other (the first's goals and
// fleet) under policy with a prefill and a decode Deployment of
// DefaultEngine pods, each starting at Fleet.Initial and at most
// Fleet.Max.
func RunPD(phases []*Trace, policy string) (out PDOutcome, err error) {
	if policy != PolicyCombined && policy != PolicyRoles {
		return out, fmt.Errorf("unknown disaggregated policy %q", policy)
	}
	tr, arrivals := concat(phases)
	pt, err := newPDTriggers(tr, policy)
	if err != nil {
		return out, err
	}
	defer func() { err = errors.Join(err, pt.close()) }()
	fleets := [2]*Fleet{NewFleet(DefaultEngine(), tr.Fleet.StartSeconds, tr.Fleet.Initial), NewFleet(DefaultEngine(), tr.Fleet.StartSeconds, tr.Fleet.Initial)}
	loops := [2]*hpaLoop{newHPALoop(tr, exactBehavior()), newHPALoop(tr, exactBehavior())}
	spec := [2]int{tr.Fleet.Initial, tr.Fleet.Initial}
	out.Policy = policy
	var all []*Request
	legs := map[*Request]*Request{}  // user request -> its decode leg
	users := map[*Request]*Request{} // prefill leg -> user request
	for now := range tr.Seconds {
		var pre []*Request
		for _, r := range arrivals[now] {
			all = append(all, r)
			leg := &Request{Arrival: r.Arrival, Prompt: r.Prompt, Output: 1}
			users[leg] = r
			pre = append(pre, leg)
		}
		_, done := fleets[0].Step(float64(now), pre)
		var dec []*Request
		for _, leg := range done {
			r := users[leg]
			delete(users, leg)
			r.FirstToken = leg.FirstToken
			if leg.Done < 0 || r.Output <= 1 {
				r.Done = leg.Done
				continue
			}
			d := &Request{Arrival: leg.Done, Prompt: r.Prompt, Output: r.Output, FirstToken: leg.FirstToken, generated: 1, kvIn: true}
			legs[r] = d
			dec = append(dec, d)
		}
		fleets[1].Step(float64(now), dec)
		end := now + 1
		values, err := pt.poll(end, fleets)
		if err != nil {
			return out, err
		}
		for i, f := range fleets {
			ready, starting := f.Counts(float64(end))
			v := &view{now: end, spec: spec[i], pods: f.Pods(), ready: ready, starting: starting, fleet: f}
			if n, ok := loops[i].sync(v, replicasMetric(max(values[i], 1))); ok {
				n = min(max(n, 1), tr.Fleet.Max)
				if n != spec[i] {
					out.ScaleEvents++
					spec[i] = n
					f.Scale(float64(end), n)
				}
			}
			out.AvgPods[i] += float64(f.Pods()) / float64(tr.Seconds)
			if now%SeriesEvery == 0 {
				out.Series[i] = append(out.Series[i], f.Pods())
			}
		}
	}
	for r, d := range legs {
		if d.Done != 0 {
			r.Done = d.Done
		}
	}
	var o Outcome
	judge(tr, all, float64(tr.Seconds), &o)
	out.Requests, out.Attainment, out.TTFTOK, out.TPOTOK = o.Requests, o.Attainment, o.TTFTOK, o.TPOTOK
	out.MissesPerMinute = make([]int, (tr.Seconds+59)/60)
	for _, r := range all {
		if r.Done > 0 && (r.TTFT() > tr.ttft.sec || r.TPOT() > tr.tpot.sec) {
			out.MissesPerMinute[min(int(r.Arrival)/60, len(out.MissesPerMinute)-1)]++
		}
	}
	return out, nil
}

// pdTriggers are Tide's real triggers of a PD policy over loopback HTTP.
type pdTriggers struct {
	roles bool
	trs   []*inference.Trigger
	ups   []sources.Upstream
	discs []*fleetDiscovery
	pods  []*tide
	last  [2]float64
	err   error
}

func newPDTriggers(tr *Trace, policy string) (*pdTriggers, error) {
	t := &pdTriggers{roles: policy == PolicyRoles}
	mds := []map[string]string{TideMetadata(tr)}
	if t.roles {
		pre, dec := TideMetadata(tr), TideMetadata(tr)
		pre["service"], pre["role"] = "prefill", "prefill"
		delete(pre, "targetTPOT")
		dec["service"], dec["role"] = "decode", "decode"
		delete(dec, "targetTTFT")
		mds = []map[string]string{pre, dec}
	}
	for _, md := range mds {
		delete(md, "source")
		d := &fleetDiscovery{}
		trig, err := inference.Parse(md, inference.Env{Discovery: d})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("trigger %v: %w", md, err), t.close())
		}
		up, err := trig.Query().Open()
		if err != nil {
			return nil, errors.Join(err, t.close())
		}
		t.trs, t.ups, t.discs = append(t.trs, trig), append(t.ups, up), append(t.discs, d)
		t.pods = append(t.pods, &tide{slots: map[string]*slot{}})
	}
	return t, nil
}

// poll publishes the pods and returns the desired pods of each
// Deployment: each role's own, or the combined count split evenly.
func (t *pdTriggers) poll(now int, fleets [2]*Fleet) ([2]float64, error) {
	at := epoch.Add(time.Duration(now) * time.Second)
	names := []string{"prefill", "decode"}
	for i := range t.trs {
		fs, ns := fleets[:], names
		if t.roles {
			fs, ns = fleets[i:i+1], names[i:i+1]
		}
		if err := t.pods[i].publishNamed(now, fs, ns, t.discs[i]); err != nil {
			return t.last, err
		}
		r := t.ups[i].Poll(context.Background(), at, []sources.Query{t.trs[i].Query()})[0]
		if r.Err != nil {
			if t.err == nil {
				t.err = fmt.Errorf("poll at %d s, trigger %d: %w", now, i, r.Err)
			}
			continue // the last value holds, as KEDA's last metric would
		}
		if t.roles {
			t.last[i] = r.Sample.Value
		} else {
			half := math.Ceil(r.Sample.Value / 2)
			t.last = [2]float64{half, half}
		}
	}
	return t.last, nil
}

func (t *pdTriggers) close() error { return closeAll(t.err, t.pods, t.ups) }

// concat is the phases as one trace: the first's settings, the seconds
// summed, each phase's requests after the previous phases'.
func concat(phases []*Trace) (*Trace, [][]*Request) {
	tr := *phases[0]
	tr.Seconds = 0
	var arrivals [][]*Request
	for _, p := range phases {
		for _, sec := range p.Requests() {
			for _, r := range sec {
				r.Arrival += float64(tr.Seconds)
			}
			arrivals = append(arrivals, sec)
		}
		tr.Seconds += p.Seconds
	}
	return &tr, arrivals
}
