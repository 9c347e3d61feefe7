package demo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/explain"
	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/sources"
	core "github.com/tide-scaler/tide/pkg/trigger"
)

// goalView follows the latency-goal mode through the demo: when it first
// decided, how often, and the sample of its latest decision while requests
// arrived, which the summary explains as `scaler explain` does.
type goalView struct {
	first     time.Duration
	decisions int
	at        time.Duration
	now       time.Time
	replicas  int32
	sample    *sources.Sample
}

// see records one evaluation at demo time t (clock now) of a sample with
// its rule, at replicas; traffic says whether requests arrived in the tick.
func (g *goalView) see(t time.Duration, now time.Time, rule string, s sources.Sample, replicas int32, traffic bool) {
	if !strings.HasPrefix(rule, "latency goal") || strings.HasPrefix(rule, "latency goal not in force") {
		return
	}
	if g.decisions == 0 {
		g.first = t
	}
	g.decisions++
	if traffic || g.sample == nil {
		s.Time = now // as the engine stamps a poll
		g.at, g.now, g.replicas, g.sample = t, now, replicas, &s
	}
}

// summary is the view's closing lines for the trigger md (reg parses it):
// when the goal came into force, and `scaler explain`'s output for the
// sample of its last decision under load.
func (g *goalView) summary(reg *core.Registry, md map[string]string, maxReplicas int32) []string {
	goal := md["targetTTFT"]
	if g.decisions == 0 {
		return []string{fmt.Sprintf("latency goal targetTTFT %s never came into force: the prefill capacity was not learned (the KPA decided throughout)", goal)}
	}
	out := []string{fmt.Sprintf("latency goal targetTTFT %s in force from %s (%d evaluations); `scaler explain` of its last decision under load, at %s:",
		goal, g.first.Round(time.Second), g.decisions, g.at.Round(time.Second))}
	e, err := explain.Explain(context.Background(), reg, sampleReader{*g.sample}, md)
	if err != nil {
		return append(out, "  explain: "+err.Error())
	}
	in := explain.NewInput()
	in.Metadata, in.Current, in.HPA.MaxReplicas, in.Target = md, g.replicas, maxReplicas, hpa.AverageValue
	cfg := hpa.DefaultConfig()
	var b bytes.Buffer
	explain.Print(&b, in, e, explain.Predict(g.now, in, e, cfg), cfg)
	for l := range strings.Lines(b.String()) {
		out = append(out, "  "+strings.TrimRight(l, "\n"))
	}
	return out
}

// sampleReader reads one sample already taken: explain evaluates it as it
// would a fresh read.
type sampleReader struct{ s sources.Sample }

func (r sampleReader) Read(context.Context, sources.Query) (sources.Sample, error) { return r.s, nil }

func (sampleReader) Watch(sources.Query) (<-chan struct{}, func(), error) {
	return nil, nil, errors.New("a demo sample cannot be watched")
}
