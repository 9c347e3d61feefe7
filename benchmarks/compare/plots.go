package main

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// plotFile is one image written next to the report.
type plotFile struct {
	File  string // name inside the report's directory
	Title string
}

const (
	plotWidth  = 6 * vg.Inch
	plotHeight = 4 * vg.Inch
)

// Every implementation keeps its colour in every plot.
var plotColors = map[string]color.Color{
	ImplTide:         color.RGBA{R: 31, G: 119, B: 180, A: 255},
	"tide-push":      color.RGBA{R: 31, G: 119, B: 180, A: 255},
	ImplTideSlow:     color.RGBA{R: 44, G: 160, B: 44, A: 255},
	ImplKEDAKafka:    color.RGBA{R: 214, G: 39, B: 40, A: 255},
	"keda-kafka-1s":  color.RGBA{R: 214, G: 39, B: 40, A: 255},
	ImplKEDAApache:   color.RGBA{R: 255, G: 127, B: 14, A: 255},
	"keda-kafka-30s": color.RGBA{R: 140, G: 20, B: 20, A: 255},
	ImplKEDARedis:    color.RGBA{R: 148, G: 103, B: 189, A: 255},
}

func plotColor(name string, i int) color.Color {
	if c, ok := plotColors[name]; ok {
		return c
	}
	return plotutil.Color(i)
}

// writePlots writes every plot that has data into dir and returns them in
// the order the report shows them. A plot without data is skipped.
func writePlots(dir string, res *Results) ([]plotFile, error) {
	g := groupRuns(res.Runs)
	ks, rs := kafkaSuite(res, g), redisSuite(res, g)
	specs := []struct {
		file, title string
		build       func() (*plot.Plot, error)
	}{
		{"kafka-requests.png", "Kafka: broker requests per minute", func() (*plot.Plot, error) {
			return plotScaleLines(g, ks, metricPerMinute, "Kafka: broker requests per minute (log)", "requests / min")
		}},
		{"kafka-memory.png", "Kafka: attributable RSS", func() (*plot.Plot, error) {
			return plotScaleLines(g, ks, metricRSSMiB(res.Idle), "Kafka: attributable RSS (log)", "MiB")
		}},
		{"kafka-latency.png", "Kafka: p99 latency of one GetMetricsAndActivity", func() (*plot.Plot, error) {
			return plotScaleBars(g, ks, metricP99, "Kafka: p99 of one metrics read (log)", "µs")
		}},
		{"redis-commands.png", "Redis: commands per minute", func() (*plot.Plot, error) {
			return plotScaleLines(g, rs, metricPerMinute, "Redis: commands per minute (log)", "commands / min")
		}},
		{"redis-latency.png", "Redis: p99 latency of one GetMetricsAndActivity", func() (*plot.Plot, error) {
			return plotScaleLines(g, rs, metricP99, "Redis: p99 of one metrics read (log)", "µs")
		}},
		{"activation.png", "Activation latency", func() (*plot.Plot, error) {
			return plotActivation(res.Activation)
		}},
		{"ratios.png", "KEDA ÷ Tide ratios", func() (*plot.Plot, error) {
			return plotRatios(res, ks)
		}},
	}
	var out []plotFile
	for _, s := range specs {
		p, err := s.build()
		if err != nil {
			return out, fmt.Errorf("%s: %w", s.file, err)
		}
		if p == nil {
			continue
		}
		if err := p.Save(plotWidth, plotHeight, filepath.Join(dir, s.file)); err != nil {
			return out, fmt.Errorf("%s: %w", s.file, err)
		}
		out = append(out, plotFile{s.file, s.title})
	}
	return out, nil
}

// logBounds returns a decade-aligned range [lo, hi] for a log axis showing
// vs. A log axis cannot show 0 (or negative values, or NaN), so any such
// value is floored at lo, which is then one decade below the smallest
// positive value: it sits visibly at the bottom of the axis. With no positive
// value at all the range is 0.1–1.
func logBounds(vs []float64) (lo, hi float64) {
	minPos, maxPos, floored := math.Inf(1), math.Inf(-1), false
	for _, v := range vs {
		if v > 0 && !math.IsInf(v, 0) {
			minPos, maxPos = math.Min(minPos, v), math.Max(maxPos, v)
		} else {
			floored = true
		}
	}
	if math.IsInf(minPos, 1) {
		return 0.1, 1
	}
	lo = math.Pow(10, math.Floor(math.Log10(minPos)))
	if floored {
		lo /= 10
	}
	hi = math.Pow(10, math.Ceil(math.Log10(maxPos)))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi
}

// logFloor replaces what a log axis cannot show (≤ 0, NaN) with lo.
func logFloor(v, lo float64) float64 {
	if !(v > lo) || math.IsInf(v, 0) {
		return lo
	}
	return v
}

// setLogY makes p's Y axis logarithmic over [lo, hi] and leaves room above
// the data for a legend of rows entries in the top left corner, so that the
// legend never covers data.
func setLogY(p *plot.Plot, lo, hi float64, rows int) {
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.TickerFunc(plotLogTicks)
	p.Y.Min, p.Y.Max = lo, hi
	if rows > 0 {
		p.Legend.Top, p.Legend.Left = true, true
		p.Legend.TextStyle.Font.Size = vg.Points(9)
		p.Legend.XOffs = vg.Points(6)
		// Legend height as a fraction of the data area (about 3 in).
		f := math.Min(0.6, (float64(rows)*11+6)/(3*72))
		decades := math.Log10(hi / lo)
		p.Y.Max = lo * math.Pow(10, decades/(1-f))
	}
}

// plotLogTicks marks every decade (labelled) and its 2…9 multiples. It
// stands in for plot.LogTicks, which loses the lowest decade when the axis
// starts below 1 (int(math.Log10(0.1)) is 0, not -1).
func plotLogTicks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi >= lo) {
		return nil
	}
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo) + 1e-9); e <= math.Log10(hi)+1e-9; e++ {
		d := math.Pow(10, e)
		ticks = append(ticks, plot.Tick{Value: d, Label: mdNum(d)})
		for i := 2.0; i < 10; i++ {
			ticks = append(ticks, plot.Tick{Value: i * d})
		}
	}
	return ticks
}

// plotScaleLines plots the median of metric against scale on log–log axes,
// one line with points per implementation.
func plotScaleLines(g runGroups, s reportSuite, metric func(Run) float64, title, ylabel string) (*plot.Plot, error) {
	type series struct {
		impl string
		xys  plotter.XYs
	}
	var ss []series
	var ys []float64
	xs := map[int]bool{}
	for _, impl := range g.impls(s.suite, s.order) {
		var xy plotter.XYs
		for _, sc := range s.scales {
			if v := g.med(s.suite, impl, sc, metric); g.has(s.suite, impl, sc) && !math.IsNaN(v) && sc > 0 {
				xy = append(xy, plotter.XY{X: float64(sc), Y: v})
				ys = append(ys, v)
				xs[sc] = true
			}
		}
		if len(xy) > 0 {
			ss = append(ss, series{impl, xy})
		}
	}
	if len(ss) == 0 {
		return nil, nil
	}
	lo, hi := logBounds(ys)
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = s.scaleUnit
	p.Y.Label.Text = ylabel
	for i, se := range ss {
		for j := range se.xys {
			se.xys[j].Y = logFloor(se.xys[j].Y, lo)
		}
		l, pts, err := plotter.NewLinePoints(se.xys)
		if err != nil {
			return nil, err
		}
		c := plotColor(se.impl, i)
		l.Color, pts.Color = c, c
		l.Width = vg.Points(1.5)
		pts.Shape = plotutil.Shape(i)
		pts.Radius = vg.Points(3)
		p.Add(l, pts)
		p.Legend.Add(se.impl, l, pts)
	}
	setLogX(p, xs)
	setLogY(p, lo, hi, len(ss))
	p.Add(plotter.NewGrid())
	return p, nil
}

// setLogX makes p's X axis logarithmic with a tick at every scale measured.
func setLogX(p *plot.Plot, xs map[int]bool) {
	var ticks plot.ConstantTicks
	mn, mx := math.Inf(1), math.Inf(-1)
	for x := range xs {
		ticks = append(ticks, plot.Tick{Value: float64(x), Label: strconv.Itoa(x)})
		mn, mx = math.Min(mn, float64(x)), math.Max(mx, float64(x))
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ticks
	p.X.Min, p.X.Max = mn/1.25, mx*1.25
}

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
