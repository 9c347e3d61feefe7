package main

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// barGroup is one implementation's bars, one per category; NaN is missing.
type barGroup struct {
	name  string
	color color.Color // nil: the implementation's colour
	vals  []float64
}

// plotBars draws grouped bars, one group per category, on a log Y axis.
// Bars rise from the bottom of the axis (a log axis has no 0): each is
// stacked on an invisible base of height lo.
func plotBars(title, ylabel string, cats []string, groups []barGroup, extra []float64) (*plot.Plot, error) {
	var all []float64
	for _, gr := range groups {
		for _, v := range gr.vals {
			if !math.IsNaN(v) {
				all = append(all, v)
			}
		}
	}
	if len(all) == 0 || len(cats) == 0 {
		return nil, nil
	}
	lo, hi := logBounds(append(all, extra...))
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	// The data area is about 5 in wide; bars fill 80% of each category.
	w := vg.Length(5*72*0.8) / vg.Length(len(cats)*len(groups))
	w = min(w, vg.Points(40))
	for i, gr := range groups {
		base := make(plotter.Values, len(cats))
		vals := make(plotter.Values, len(cats))
		for j := range cats {
			base[j] = lo
			if j < len(gr.vals) {
				vals[j] = logFloor(gr.vals[j], lo) - lo
			}
		}
		bb, err := plotter.NewBarChart(base, w)
		if err != nil {
			return nil, err
		}
		bb.Offset = w * (vg.Length(i) - vg.Length(len(groups)-1)/2)
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return nil, err
		}
		b.StackOn(bb) // bb is never drawn; it only lifts b to lo.
		b.Color = gr.color
		if b.Color == nil {
			b.Color = plotColor(gr.name, i)
		}
		b.LineStyle.Width = vg.Points(0.5)
		p.Add(b)
		p.Legend.Add(gr.name, b)
	}
	p.NominalX(cats...)
	p.X.Min, p.X.Max = -0.5, float64(len(cats))-0.5
	setLogY(p, lo, hi, len(groups)+1)
	p.Add(plotter.NewGrid())
	return p, nil
}

// plotScaleBars shows the median of metric per implementation, grouped by
// scale.
func plotScaleBars(g runGroups, s reportSuite, metric func(Run) float64, title, ylabel string) (*plot.Plot, error) {
	var cats []string
	var scales []int
	for _, sc := range s.scales {
		for _, impl := range g.impls(s.suite, s.order) {
			if g.has(s.suite, impl, sc) {
				cats, scales = append(cats, strconv.Itoa(sc)), append(scales, sc)
				break
			}
		}
	}
	var groups []barGroup
	for _, impl := range g.impls(s.suite, s.order) {
		gr := barGroup{name: impl}
		for _, sc := range scales {
			gr.vals = append(gr.vals, g.med(s.suite, impl, sc, metric))
		}
		groups = append(groups, gr)
	}
	p, err := plotBars(title, ylabel, cats, groups, nil)
	if p != nil {
		p.X.Label.Text = s.scaleUnit
	}
	return p, err
}

// plotRatios shows the median KEDA/Tide ratios of requests per minute and
// of attributable RSS at every Kafka scale, with the 10× goal as a line. The
// axis starts at 1× (parity) or lower.
func plotRatios(res *Results, s reportSuite) (*plot.Plot, error) {
	type m struct {
		name string
		f    func(Run) float64
	}
	var cats []string
	var groups []barGroup
	peers := []string{ImplKEDAKafka, ImplKEDAApache}
	for i, peer := range peers {
		groups = append(groups, barGroup{name: peer + " ÷ tide", color: plotColor(peer, i)})
	}
	for _, mt := range []m{{"req/min", metricPerMinute}, {"RSS", metricRSSMiB(res.Idle)}} {
		for _, sc := range s.scales {
			vals := make([]float64, len(peers))
			measured := false
			for i, peer := range peers {
				r := pairedRatio(res.Runs, statsSuiteKafka, sc, peer, ImplTide, mt.f)
				vals[i] = r.Median
				measured = measured || r.ok()
			}
			if !measured {
				continue
			}
			cats = append(cats, fmt.Sprintf("%s\nS=%d", mt.name, sc))
			for i := range groups {
				groups[i].vals = append(groups[i].vals, vals[i])
			}
		}
	}
	p, err := plotBars("KEDA ÷ Tide, median over repeats (log; higher is better for Tide)", "ratio", cats, groups, []float64{1, 10})
	if p == nil || err != nil {
		return p, err
	}
	goal := plotter.NewFunction(func(float64) float64 { return 10 })
	goal.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	goal.Width = vg.Points(1.2)
	p.Add(goal)
	p.Legend.Add("10× goal", goal)
	return p, nil
}

// plotActivation shows each implementation's median activation time with
// its min–max range as error bars, on a log Y axis.
func plotActivation(as []ActivationResult) (*plot.Plot, error) {
	impls, stats, _ := activationStats(as)
	var names []string
	var xys plotter.XYs
	var errs plotter.YErrors
	var labels []string
	var all []float64
	for _, impl := range impls {
		s := stats[impl]
		if !s.ok() {
			continue
		}
		x := float64(len(names))
		names = append(names, impl)
		xys = append(xys, plotter.XY{X: x, Y: s.Median})
		all = append(all, s.Min, s.Median, s.Max)
		labels = append(labels, mdNum(s.Median)+" s")
		errs = append(errs, struct{ Low, High float64 }{s.Median - s.Min, s.Max - s.Median})
	}
	if len(names) == 0 {
		return nil, nil
	}
	lo, hi := logBounds(all)
	for i := range xys { // keep the bars' ends on the axis too
		xys[i].Y = logFloor(xys[i].Y, lo)
		errs[i].Low = math.Min(errs[i].Low, xys[i].Y-lo)
	}
	p := plot.New()
	p.Title.Text = "Activation: first message → first active (median, min–max; log)"
	p.Y.Label.Text = "seconds"
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYs
		plotter.YErrors
	}{xys, errs})
	if err != nil {
		return nil, err
	}
	eb.Width = vg.Points(1.2)
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	sc.Radius = vg.Points(4)
	sc.Shape = draw.CircleGlyph{}
	sc.GlyphStyleFunc = func(i int) draw.GlyphStyle {
		return draw.GlyphStyle{Color: plotColor(names[i], i), Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	lb.Offset = vg.Point{X: vg.Points(8), Y: -vg.Points(4)}
	p.Add(plotter.NewGrid(), eb, sc, lb)
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.3
	setLogY(p, lo, hi, 0)
	return p, nil
}
