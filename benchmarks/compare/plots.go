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
	ActTideRedis:     color.RGBA{R: 31, G: 119, B: 180, A: 255},
	ActKEDARedis1s:   color.RGBA{R: 148, G: 103, B: 189, A: 255},
	ActKEDARedis30s:  color.RGBA{R: 90, G: 50, B: 130, A: 255},
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
		{"kafka-big-memory.png", "Kafka, big cluster: attributable RSS", func() (*plot.Plot, error) {
			return plotScaleBars(g, bigSuite(res, g), metricRSSMiB(res.Idle), "Kafka, big cluster: attributable RSS (log)", "MiB")
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
		{"activation-tradeoff.png", "Activation: latency vs the upstream cost of idle triggers", func() (*plot.Plot, error) {
			return plotTradeoff(res.Activation, res.ActivationCost)
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
