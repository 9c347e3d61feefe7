package main

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotTradeoff is activation latency against what it costs: one point per
// implementation, median seconds over upstream requests per idle trigger
// per minute, both on log axes; lower-left is better.
func plotTradeoff(as []ActivationResult, cost []ActivationCost) (*plot.Plot, error) {
	_, stats, _ := activationStats(as)
	var xys plotter.XYs
	var names, labels []string
	var xs, ys []float64
	for _, c := range cost {
		s := stats[c.Impl]
		if !s.ok() {
			continue
		}
		xys = append(xys, plotter.XY{X: c.PerTriggerMinute, Y: s.Median})
		names = append(names, c.Impl)
		labels = append(labels, c.Impl)
		xs, ys = append(xs, c.PerTriggerMinute), append(ys, s.Median)
	}
	if len(xys) == 0 {
		return nil, nil
	}
	xlo, xhi := logBounds(xs)
	ylo, yhi := logBounds(ys)
	for i := range xys {
		xys[i].X, xys[i].Y = logFloor(xys[i].X, xlo), logFloor(xys[i].Y, ylo)
	}
	p := plot.New()
	p.Title.Text = "Activation: median latency vs upstream cost of idle triggers (log, log)"
	p.X.Label.Text = "requests or commands per idle trigger per minute"
	p.Y.Label.Text = "median seconds to active"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = xlo, xhi, ylo, yhi
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyleFunc = func(i int) draw.GlyphStyle {
		shape := draw.GlyphDrawer(draw.CircleGlyph{})
		if s, _ := actSuite(names[i]); s == "redis" {
			shape = draw.SquareGlyph{}
		}
		return draw.GlyphStyle{Color: plotColor(names[i], i), Radius: vg.Points(4), Shape: shape}
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return nil, err
	}
	lb.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(-3)}
	p.Add(sc, lb)
	return p, nil
}
