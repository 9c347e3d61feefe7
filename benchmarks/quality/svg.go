package quality

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Every policy keeps its colour in every plot; a policy beyond the list
// takes grey.
var policyColours = []string{"#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b"}

func colour(j int) string {
	if j < len(policyColours) {
		return policyColours[j]
	}
	return "#777777"
}

// svgDoc wraps a body in an SVG document of w x h with a white background.
func svgDoc(w, h float64, body string) string {
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">
<rect width="100%%" height="100%%" fill="white"/>
%s</svg>
`, w, h, w, h, body)
}

// panel maps data coordinates into a rectangle of the picture.
type panel struct {
	x, y, w, h             float64 // the plotting area, in picture units
	xMin, xMax, yMin, yMax float64
}

func (p panel) px(v float64) float64 { return p.x + (v-p.xMin)/(p.xMax-p.xMin)*p.w }
func (p panel) py(v float64) float64 { return p.y + p.h - (v-p.yMin)/(p.yMax-p.yMin)*p.h }

// axes draws the frame, ticks on both axes and the labels.
func (p panel) axes(b *strings.Builder, title, xLabel, yLabel string) {
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#999"/>`+"\n", p.x, p.y, p.w, p.h)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" font-weight="bold">%s</text>`+"\n", p.x, p.y-6, html.EscapeString(title))
	for _, v := range ticks(p.xMin, p.xMax) {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#555">%s</text>`+"\n", p.px(v), p.y+p.h+13, fmtTick(v))
	}
	for _, v := range ticks(p.yMin, p.yMax) {
		y := p.py(v)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", p.x, p.x+p.w, y, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="#555">%s</text>`+"\n", p.x-4, y+4, fmtTick(v))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text>`+"\n", p.x+p.w/2, p.y+p.h+27, html.EscapeString(xLabel))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="#333" transform="rotate(-90 %.1f %.1f)" text-anchor="middle">%s</text>`+"\n",
		p.x-38, p.y+p.h/2, p.x-38, p.y+p.h/2, html.EscapeString(yLabel))
}

// ticks returns about five round values within [lo, hi].
func ticks(lo, hi float64) []float64 {
	span := hi - lo
	if !(span > 0) {
		return []float64{lo}
	}
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

func fmtTick(v float64) string {
	if math.Abs(v-math.Round(v)) < 1e-9 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// legend draws one entry per policy from (x, y) rightwards.
func (r *Report) legend(b *strings.Builder, x, y float64) {
	for j, p := range r.Policies {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="12" height="4" fill="%s"/>`, x, y-4, colour(j))
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`+"\n", x+16, y, html.EscapeString(p.Name))
		x += 30 + 7*float64(len(p.Name))
	}
}

// ParetoSVG plots, per trace, goal attainment against replica-minutes for
// every policy: up and to the left is better.
func (r *Report) ParetoSVG() string {
	const cols, cellW, cellH = 3, 320.0, 250.0
	rows := (len(r.Traces) + cols - 1) / cols
	var b strings.Builder
	r.legend(&b, 50, 20)
	for i, tr := range r.Traces {
		out := r.Outcomes[i]
		xMax, yMin := 0.0, 100.0
		for _, o := range out {
			xMax = math.Max(xMax, o.ReplicaMinutes)
			yMin = math.Min(yMin, o.Attainment)
		}
		yMin = math.Max(math.Floor(yMin/10)*10-5, 0)
		p := panel{x: float64(i%cols)*cellW + 60, y: float64(i/cols)*cellH + 60, w: cellW - 80, h: cellH - 90,
			xMin: 0, xMax: xMax * 1.1, yMin: yMin, yMax: 101}
		p.axes(&b, fmt.Sprintf("%s (goal %gs)", tr.Name, tr.GoalSeconds), "replica-minutes", "attainment %")
		for j, o := range out {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s" fill-opacity="0.8"><title>%s: %.1f%%, %.1f replica-minutes</title></circle>`+"\n",
				p.px(o.ReplicaMinutes), p.py(o.Attainment), colour(j), html.EscapeString(o.Policy), o.Attainment, o.ReplicaMinutes)
		}
	}
	return svgDoc(cols*cellW, float64(rows)*cellH+40, b.String())
}

// SeriesSVG plots trace i over time: the oldest unprocessed message's age
// against the goal (top) and the replicas (bottom), one line per policy.
func (r *Report) SeriesSVG(i int) string {
	tr, out := r.Traces[i], r.Outcomes[i]
	const w = 960.0
	var b strings.Builder
	r.legend(&b, 70, 20)
	ageMax, repMax := tr.GoalSeconds*1.2, 1.0
	for _, o := range out {
		for _, s := range o.Series {
			ageMax = math.Max(ageMax, s.Age)
			repMax = math.Max(repMax, float64(s.Replicas))
		}
	}
	dur := float64(tr.DurationSeconds)
	age := panel{x: 70, y: 50, w: w - 100, h: 220, xMin: 0, xMax: dur, yMin: 0, yMax: ageMax * 1.05}
	rep := panel{x: 70, y: 330, w: w - 100, h: 180, xMin: 0, xMax: dur, yMin: 0, yMax: repMax + 1}
	age.axes(&b, fmt.Sprintf("%s: oldest unprocessed message age (goal %gs dashed)", tr.Name, tr.GoalSeconds), "seconds", "age (s)")
	rep.axes(&b, "replicas (pods that exist, started or not)", "seconds", "replicas")
	gy := age.py(tr.GoalSeconds)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#000" stroke-dasharray="6 4"/>`+"\n", age.x, age.x+age.w, gy, gy)
	for j, o := range out {
		var a, n strings.Builder
		for k, s := range o.Series {
			sep := " L"
			if k == 0 {
				sep = "M"
			}
			fmt.Fprintf(&a, "%s%.1f %.1f", sep, age.px(float64(s.T)), age.py(s.Age))
			if k > 0 {
				fmt.Fprintf(&n, " H%.1f", rep.px(float64(s.T)))
			}
			fmt.Fprintf(&n, "%s%.1f %.1f", sep, rep.px(float64(s.T)), rep.py(float64(s.Replicas)+0.08*float64(j)))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-opacity="0.85"/>`+"\n", a.String(), colour(j))
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="1.5" stroke-opacity="0.85"/>`+"\n", n.String(), colour(j))
	}
	return svgDoc(w, 560, b.String())
}
