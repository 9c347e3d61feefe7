package serving

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Trace is one workload, read from JSON (traces/*.json):
//
//	{
//	  "name": "steady chat",
//	  "seconds": 1800, "seed": 1,
//	  "goal": {"ttft": "p90:1s", "tpot": "p90:50ms"},
//	  "fleet": {"initial": 2, "max": 24, "startSeconds": 60},
//	  "kpaConcurrency": 40,
//	  "rates": [{"at": 0, "rps": 30}, {"at": 600, "rps": 30}],
//	  "mix": [{"weight": 1, "prompt": 600, "output": 250}]
//	}
//
// Arrivals are Poisson at a rate linear between the rate points (a step:
// two points at one time), constant after the last. Each request draws a
// class of the mix by weight, then its prompt and output lengths from a
// lognormal with the class's means and a spread of 0.6 (σ of the log),
// capped at 8× the mean. Goals are what a request must meet to count as
// within the SLO (its TTFT and its TPOT both within the values); the
// percentile is what the latency-goal policies aim at. The fleet starts
// with initial ready pods; pods take startSeconds to serve. kpaConcurrency
// is the in-flight requests per pod the concurrency policies aim at (the
// KPA's target, Tide's fallback before it has learned a capacity).
type Trace struct {
	Name    string `json:"name"`
	Seconds int    `json:"seconds"`
	Seed    uint64 `json:"seed"`
	Goal    struct {
		TTFT string `json:"ttft"`
		TPOT string `json:"tpot"`
	} `json:"goal"`
	Fleet struct {
		Initial      int     `json:"initial"`
		Max          int     `json:"max"`
		StartSeconds float64 `json:"startSeconds"`
	} `json:"fleet"`
	KPAConcurrency float64     `json:"kpaConcurrency"`
	Rates          []RatePoint `json:"rates"`
	Mix            []Class     `json:"mix"`

	ttft, tpot goalSpec
}

// RatePoint is the arrival rate at a time.
type RatePoint struct {
	At  float64 `json:"at"`
	RPS float64 `json:"rps"`
}

// Class is one kind of request of a mix.
type Class struct {
	Weight float64 `json:"weight"`
	Prompt float64 `json:"prompt"` // mean prompt tokens
	Output float64 `json:"output"` // mean output tokens
}

// goalSpec is "p<pct>:<duration>".
type goalSpec struct {
	raw string
	pct float64
	sec float64
}

func parseGoalSpec(field, s string) (goalSpec, error) {
	p, d, ok := strings.Cut(s, ":")
	if !ok || !strings.HasPrefix(p, "p") {
		return goalSpec{}, fmt.Errorf("goal.%s %q: want p<percentile>:<duration>, e.g. p90:500ms", field, s)
	}
	pct, err := strconv.ParseFloat(p[1:], 64)
	if err != nil || pct < 50 || pct > 99.9 {
		return goalSpec{}, fmt.Errorf("goal.%s %q: the percentile must be 50 to 99.9", field, s)
	}
	dur, err := time.ParseDuration(d)
	if err != nil || dur <= 0 {
		return goalSpec{}, fmt.Errorf("goal.%s %q: bad duration", field, s)
	}
	return goalSpec{raw: s, pct: pct, sec: dur.Seconds()}, nil
}

// Parse reads and checks a trace.
func Parse(data []byte) (*Trace, error) {
	var tr Trace
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&tr); err != nil {
		return nil, err
	}
	var err error
	if tr.ttft, err = parseGoalSpec("ttft", tr.Goal.TTFT); err != nil {
		return nil, err
	}
	if tr.tpot, err = parseGoalSpec("tpot", tr.Goal.TPOT); err != nil {
		return nil, err
	}
	switch {
	case tr.Name == "":
		return nil, fmt.Errorf("name is empty")
	case tr.Seconds <= 0 || tr.Seconds > 24*3600:
		return nil, fmt.Errorf("seconds %d: want 1 to 86400", tr.Seconds)
	case tr.Fleet.Initial < 1 || tr.Fleet.Max < tr.Fleet.Initial:
		return nil, fmt.Errorf("fleet: want 1 <= initial (%d) <= max (%d)", tr.Fleet.Initial, tr.Fleet.Max)
	case tr.Fleet.StartSeconds < 0:
		return nil, fmt.Errorf("fleet.startSeconds %v: negative", tr.Fleet.StartSeconds)
	case !(tr.KPAConcurrency > 0):
		return nil, fmt.Errorf("kpaConcurrency %v: want > 0", tr.KPAConcurrency)
	case len(tr.Rates) == 0 || len(tr.Mix) == 0:
		return nil, fmt.Errorf("rates and mix must not be empty")
	}
	for i, r := range tr.Rates {
		if r.RPS < 0 || (i > 0 && r.At < tr.Rates[i-1].At) {
			return nil, fmt.Errorf("rates[%d]: want rps >= 0 and times in order", i)
		}
	}
	for i, c := range tr.Mix {
		if !(c.Weight > 0) || !(c.Prompt >= 1) || !(c.Output >= 1) {
			return nil, fmt.Errorf("mix[%d]: want weight > 0, prompt and output >= 1", i)
		}
	}
	return &tr, nil
}

// Load reads the traces of dir (*.json), sorted by file name.
func Load(dir string) ([]*Trace, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	var out []*Trace
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		tr, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, tr)
	}
	return out, nil
}

// rate is the arrival rate at t.
func (tr *Trace) rate(t float64) float64 {
	rs := tr.Rates
	if t < rs[0].At {
		return rs[0].RPS
	}
	for i := len(rs) - 1; i >= 0; i-- {
		if t >= rs[i].At {
			if i == len(rs)-1 || rs[i+1].At == rs[i].At {
				return rs[i].RPS
			}
			f := (t - rs[i].At) / (rs[i+1].At - rs[i].At)
			return rs[i].RPS + f*(rs[i+1].RPS-rs[i].RPS)
		}
	}
	return rs[0].RPS
}

// Requests draws the trace's requests, by second: out[s] arrive in
// [s, s+1). The same seed gives the same requests.
func (tr *Trace) Requests() [][]*Request {
	rng := rand.New(rand.NewPCG(tr.Seed, 0x5e7e))
	total := 0.0
	for _, c := range tr.Mix {
		total += c.Weight
	}
	length := func(mean float64) int {
		const sigma = 0.6
		v := math.Exp(math.Log(mean) - sigma*sigma/2 + sigma*rng.NormFloat64())
		return max(1, int(math.Round(min(v, 8*mean))))
	}
	out := make([][]*Request, tr.Seconds)
	for s := range out {
		// Poisson arrivals within the second at its midpoint's rate.
		lambda := tr.rate(float64(s) + 0.5)
		t := float64(s)
		for lambda > 0 {
			t += rng.ExpFloat64() / lambda
			if t >= float64(s+1) {
				break
			}
			w := rng.Float64() * total
			c := tr.Mix[len(tr.Mix)-1]
			for _, m := range tr.Mix {
				if w < m.Weight {
					c = m
					break
				}
				w -= m.Weight
			}
			out[s] = append(out[s], &Request{Arrival: t, Prompt: length(c.Prompt), Output: max(2, length(c.Output))})
		}
	}
	return out
}
