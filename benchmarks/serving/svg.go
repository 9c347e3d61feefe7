package serving

import (
	"fmt"
	"io"
	"strings"
)

// plot colours, one per policy in Policies' order.
var plotColours = []string{"#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd"}

// SVG writes one trace's plot: the pods each policy ran over time (lines)
// and the trace's arrival rate (grey area, right axis), with each
// policy's SLO attainment and average replicas in the legend.
func SVG(w io.Writer, tr *Trace, outs []Outcome) error {
	const (
		width, height = 900, 360
		left, right   = 50, 60
		top, bottom   = 46, 24
	)
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	maxPods := float64(tr.Fleet.Max)
	maxRate := 0.0
	for t := 0; t <= tr.Seconds; t += SeriesEvery {
		maxRate = max(maxRate, tr.rate(float64(t)))
	}
	maxRate = max(maxRate*1.1, 1)
	x := func(t float64) float64 { return float64(left) + pw*t/float64(tr.Seconds) }
	yPods := func(n float64) float64 { return float64(top) + ph*(1-n/maxPods) }
	yRate := func(r float64) float64 { return float64(top) + ph*(1-r/maxRate) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="13">%s: pods per policy at the first seed (left), arrivals req/s (grey, right); goals TTFT %s, TPOT %s; legend: means over the seeds</text>`+"\n",
		left, esc(tr.Name), esc(tr.Goal.TTFT), esc(tr.Goal.TPOT))
	// arrival rate, as an area
	var area strings.Builder
	fmt.Fprintf(&area, "%.1f,%.1f ", x(0), yRate(0))
	for t := 0; t <= tr.Seconds; t += SeriesEvery {
		fmt.Fprintf(&area, "%.1f,%.1f ", x(float64(t)), yRate(tr.rate(float64(t))))
	}
	fmt.Fprintf(&area, "%.1f,%.1f", x(float64(tr.Seconds)), yRate(0))
	fmt.Fprintf(&b, `<polygon points="%s" fill="#ddd"/>`+"\n", area.String())
	// axes and ticks
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, top, left, height-bottom)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>`+"\n", left, height-bottom, width-right, height-bottom)
	for n := 0; n <= tr.Fleet.Max; n += max(1, tr.Fleet.Max/6) {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%d</text>`+"\n", left-4, yPods(float64(n))+4, n)
	}
	for i := 0; i <= 4; i++ {
		r := maxRate * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#777">%.0f</text>`+"\n", width-right+4, yRate(r)+4, r)
	}
	step := 300
	if tr.Seconds > 2400 {
		step = 600
	}
	for t := 0; t <= tr.Seconds; t += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%ds</text>`+"\n", x(float64(t)), height-bottom+14, t)
	}
	i := 0
	for _, o := range outs {
		if o.Trace != tr.Name {
			continue
		}
		c := plotColours[i%len(plotColours)]
		var pts strings.Builder
		for j, n := range o.Series {
			t := float64(j * SeriesEvery)
			if j > 0 { // a step: hold the previous count until this sample
				fmt.Fprintf(&pts, "%.1f,%.1f ", x(t), yPods(float64(o.Series[j-1])))
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(t), yPods(float64(n)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", pts.String(), c)
		fmt.Fprintf(&b, `<text x="%d" y="34" fill="%s">%s: %.1f%%, %.2f pods</text>`+"\n",
			left+i*205, c, esc(o.Policy), o.Attainment, o.AvgReplicas)
		i++
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
