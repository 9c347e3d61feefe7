package demo

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strings"
)

// point is one tick of one workload, as the picture draws it.
type point struct {
	t        float64 // seconds since start
	backlog  int64
	replicas int32
	rule     string // what set the replica count (rule)
}

// rule names what set the replica count in a row's "why", shortly enough
// for a legend.
func rule(why string) string {
	switch {
	case strings.HasPrefix(why, "scaler error"):
		return "scaler error (held)"
	case strings.HasPrefix(why, "activated"):
		return "KEDA activation 0→1"
	case strings.HasPrefix(why, "idle at zero"):
		return "idle at zero"
	case strings.Contains(why, "(KEDA →0)"):
		return "KEDA cooldown →0"
	case strings.Contains(why, "capped at"):
		return "partition cap"
	case strings.HasPrefix(why, "HPA: "):
		r, _, _ := strings.Cut(strings.TrimPrefix(why, "HPA: "), " ")
		r, _, _ = strings.Cut(r, ";")
		return "HPA " + strings.TrimSuffix(r, ",")
	}
	return "other"
}

// Picture geometry, in SVG user units.
const (
	picW, picH         = 960.0, 300.0
	padL, padR         = 60.0, 60.0
	padT, padB, ruleH  = 20.0, 60.0, 14.0
	plotW, plotH       = picW - padL - padR, picH - padT - padB
	ruleY              = picH - padB + 24
	backlogColour      = "#1f6fb4"
	replicasColour     = "#c2410c"
	phaseShade         = "#f1f5f9"
	defaultRuleColours = "#64748b"
)

// ruleColours are assigned to the rules of a page in sorted order, so a
// rule has one colour in every chart.
var ruleColours = []string{"#0f766e", "#7c3aed", "#b45309", "#be123c", "#15803d", "#1d4ed8", "#a16207", "#475569",
	"#db2777", "#0891b2", "#65a30d", "#9333ea"}

// series is one workload's chart, precomputed for the template.
type series struct {
	ID, Name                  string
	MaxBacklog                int64
	MaxReplicas               int32
	BacklogScale, ReplicaTop  float64 // value at the top of the plot
	BacklogPts, ReplicasPts   string  // SVG polyline points
	Rules                     []ruleBand
	Legend                    []legendEntry
	Points                    int
	W, H, PadL, PadT, PlotW   float64
	PlotH, PlotBottom, RuleY  float64
	RuleH, AxisEnd            float64
	BacklogColour, RepColour  string
	Phases                    []phaseBand
	Duration                  float64
	BacklogTicks, ReplicaTick []tick
	TimeTicks                 []timeTick
}

type ruleBand struct {
	X, W   float64
	Colour string
	Rule   string
}

type legendEntry struct{ Rule, Colour string }

type phaseBand struct {
	X, W float64
	Name string
	Fill string
}

type timeTick struct {
	X     float64
	Label string
}

type tick struct {
	Y     float64
	Label string
}

// writePicture writes a self-contained HTML page (inline SVG, no script,
// nothing fetched): per workload, backlog and replicas over time, the rule
// that set the replica count as a coloured band, the phases shaded.
func writePicture(w io.Writer, title string, phases []Phase, names []string, data map[string][]point) error {
	var rules []string
	seen := map[string]bool{}
	for _, pts := range data {
		for _, p := range pts {
			if !seen[p.rule] {
				seen[p.rule] = true
				rules = append(rules, p.rule)
			}
		}
	}
	sort.Strings(rules)
	colours := make(map[string]string, len(rules))
	for i, r := range rules {
		colours[r] = defaultRuleColours
		if i < len(ruleColours) {
			colours[r] = ruleColours[i]
		}
	}
	var all []series
	for i, name := range names {
		s := newSeries(name, phases, data[name], colours)
		s.ID = fmt.Sprintf("w%d", i)
		all = append(all, s)
	}
	return pictureTmpl.Execute(w, struct {
		Title  string
		Series []series
	}{title, all})
}

func newSeries(name string, phases []Phase, pts []point, colours map[string]string) series {
	s := series{Name: name, Points: len(pts), W: picW, H: picH, PadL: padL, PadT: padT, PlotW: plotW, PlotH: plotH,
		PlotBottom: padT + plotH, RuleY: ruleY, RuleH: ruleH, AxisEnd: padL + plotW, BacklogColour: backlogColour, RepColour: replicasColour}
	for _, p := range pts {
		s.MaxBacklog = max(s.MaxBacklog, p.backlog)
		s.MaxReplicas = max(s.MaxReplicas, p.replicas)
		s.Duration = max(s.Duration, p.t)
	}
	s.BacklogScale = niceTop(float64(s.MaxBacklog))
	s.ReplicaTop = niceTop(float64(s.MaxReplicas))
	s.Duration = max(s.Duration, 1)
	x := func(t float64) float64 { return padL + plotW*t/s.Duration }
	y := func(v, top float64) float64 { return padT + plotH*(1-v/top) }
	var b, r strings.Builder
	for i, p := range pts {
		fmt.Fprintf(&b, "%.1f,%.1f ", x(p.t), y(float64(p.backlog), s.BacklogScale))
		// Replicas are a step function: hold the previous value until now.
		if i > 0 {
			fmt.Fprintf(&r, "%.1f,%.1f ", x(p.t), y(float64(pts[i-1].replicas), s.ReplicaTop))
		}
		fmt.Fprintf(&r, "%.1f,%.1f ", x(p.t), y(float64(p.replicas), s.ReplicaTop))
	}
	s.BacklogPts, s.ReplicasPts = strings.TrimSpace(b.String()), strings.TrimSpace(r.String())
	inLegend := map[string]bool{}
	for i := 0; i < len(pts); {
		j := i
		for j+1 < len(pts) && pts[j+1].rule == pts[i].rule {
			j++
		}
		end := s.Duration
		if j+1 < len(pts) {
			end = pts[j+1].t
		}
		c := colours[pts[i].rule]
		if !inLegend[pts[i].rule] {
			inLegend[pts[i].rule] = true
			s.Legend = append(s.Legend, legendEntry{pts[i].rule, c})
		}
		s.Rules = append(s.Rules, ruleBand{X: x(pts[i].t), W: max(x(end)-x(pts[i].t), 0.5), Colour: c, Rule: pts[i].rule})
		i = j + 1
	}
	sort.Slice(s.Legend, func(i, j int) bool { return s.Legend[i].Rule < s.Legend[j].Rule })
	start := 0.0
	for i, ph := range phases {
		end := start + ph.Duration.Seconds()
		if start >= s.Duration {
			break
		}
		fill := "none"
		if i%2 == 1 {
			fill = phaseShade
		}
		s.Phases = append(s.Phases, phaseBand{X: x(start), W: x(math.Min(end, s.Duration)) - x(start), Name: ph.Name, Fill: fill})
		start = end
	}
	for _, f := range []float64{0, 0.25, 0.5, 0.75, 1} {
		s.TimeTicks = append(s.TimeTicks, timeTick{X: x(f * s.Duration), Label: fmt.Sprintf("%.0f s", f*s.Duration)})
	}
	for _, f := range []float64{0, 0.5, 1} {
		s.BacklogTicks = append(s.BacklogTicks, tick{Y: y(f*s.BacklogScale, s.BacklogScale), Label: fmt.Sprintf("%.0f", f*s.BacklogScale)})
		s.ReplicaTick = append(s.ReplicaTick, tick{Y: y(f*s.ReplicaTop, s.ReplicaTop), Label: fmt.Sprintf("%.0f", f*s.ReplicaTop)})
	}
	return s
}

// niceTop is the axis top for a maximum: at least 1, rounded up to 1, 2 or
// 5 times a power of ten.
func niceTop(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

var pictureTmpl = template.Must(template.New("picture").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#0f172a}h2{font-size:1.1em;margin:1.2em 0 .2em}
.legend span{display:inline-block;margin-right:1em}.sw{display:inline-block;width:.9em;height:.9em;vertical-align:middle;margin-right:.3em}</style>
</head><body><h1>{{.Title}}</h1>
<p>Per workload: backlog (blue, left axis), replicas (orange, right axis) and, in the band under the time axis, the rule that set the replica count. Shaded stripes are the traffic phases.</p>
{{range .Series}}<section><h2>{{.Name}}: peak {{.MaxReplicas}} replicas, peak backlog {{.MaxBacklog}}</h2>
<svg role="img" aria-labelledby="t-{{.ID}}" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" data-workload="{{.Name}}" data-points="{{.Points}}" data-backlog-top="{{.BacklogScale}}" data-replicas-top="{{.ReplicaTop}}" data-plot-top="{{.PadT}}" data-plot-height="{{.PlotH}}">
<title id="t-{{.ID}}">{{.Name}}: backlog and replicas over {{printf "%.0f" .Duration}} s</title>
{{$s := .}}{{range .Phases}}<rect class="phase" x="{{printf "%.1f" .X}}" y="{{$s.PadT}}" width="{{printf "%.1f" .W}}" height="{{$s.PlotH}}" fill="{{.Fill}}"/><text x="{{printf "%.1f" .X}}" y="{{$s.PadT}}" dy="-4" font-size="11" fill="#475569">{{.Name}}</text>{{end}}
<line x1="{{.PadL}}" y1="{{.PlotBottom}}" x2="{{.AxisEnd}}" y2="{{.PlotBottom}}" stroke="#94a3b8"/>
{{range .BacklogTicks}}<text x="{{$s.PadL}}" dx="-6" y="{{printf "%.1f" .Y}}" text-anchor="end" font-size="11" fill="{{$s.BacklogColour}}">{{.Label}}</text>{{end}}
{{range .ReplicaTick}}<text x="{{$s.W}}" dx="-54" y="{{printf "%.1f" .Y}}" font-size="11" fill="{{$s.RepColour}}">{{.Label}}</text>{{end}}
{{range .TimeTicks}}<text x="{{printf "%.1f" .X}}" y="{{$s.PlotBottom}}" dy="13" text-anchor="middle" font-size="11" fill="#475569">{{.Label}}</text>{{end}}
<polyline class="backlog" points="{{.BacklogPts}}" fill="none" stroke="{{.BacklogColour}}" stroke-width="1.5"/>
<polyline class="replicas" points="{{.ReplicasPts}}" fill="none" stroke="{{.RepColour}}" stroke-width="2"/>
{{range .Rules}}<rect class="rule" x="{{printf "%.1f" .X}}" y="{{$s.RuleY}}" width="{{printf "%.1f" .W}}" height="{{$s.RuleH}}" fill="{{.Colour}}"><title>{{.Rule}}</title></rect>{{end}}
</svg>
<p class="legend">{{range .Legend}}<span><span class="sw" style="background:{{.Colour}}"></span>{{.Rule}}</span>{{end}}</p>
</section>
{{end}}</body></html>
`))
