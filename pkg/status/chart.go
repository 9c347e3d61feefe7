package status

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The chart's geometry, in SVG user units: a plot area with the demand
// scale on the left, the replicas scale on the right, time below.
const (
	chartW, chartH = 640, 200
	plotL, plotR   = 64, 576
	plotT, plotB   = 16, 160
	// topY is where a scale's largest value sits: below the plot's top
	// border, so that a line there stays visible.
	topY = plotT + 10
)

// Chart is one trigger's history drawn as two step lines.
type Chart struct {
	ID           string
	Title, Desc  string
	ValuePath    string // the demand line, an SVG path
	ReplicasPath string // the desired replicas line
	ValueMax     string // the demand scale's top
	ReplicasMax  string
	Span         string // "3h": how far back the left edge is
	Points       int
	G            geometry
}

// geometry is where the template puts things; it only reads fields.
type geometry struct {
	W, H, L, R, T, B int
	PW, PH           int // the plot's width and height
	LabelL, LabelR   int // x of the left and right scales' labels
	TimeY, LegendY   int // y of the time labels and of the legend
	MidY, TopY       int
}

// plot draws pts (oldest first, steps of step) over the span that ends with
// the step now is in.
// Each point is a horizontal segment over its step, joined vertically to
// the next one when contiguous; a missing step is a gap.
func plot(id, title string, pts []Point, now time.Time, step, span time.Duration) Chart {
	c := Chart{ID: id, Title: title, Span: formatDuration(span), Points: len(pts),
		G: geometry{W: chartW, H: chartH, L: plotL, R: plotR, T: plotT, B: plotB, PW: plotR - plotL, PH: plotB - plotT,
			LabelL: plotL - 6, LabelR: plotR + 6, TimeY: plotB + 16, LegendY: chartH - 8, MidY: (plotT + plotB) / 2, TopY: topY}}
	var vmax float64
	var rmax int64
	for _, p := range pts {
		vmax, rmax = max(vmax, p.Value), max(rmax, p.Replicas)
	}
	c.ValueMax, c.ReplicasMax = formatNum(vmax), strconv.FormatInt(rmax, 10)
	// The right edge is the end of the step in progress, so that the
	// newest point is drawn over its whole step.
	end := time.Unix(0, (now.UnixNano()/int64(step)+1)*int64(step))
	from := end.Add(-span)
	x := func(t time.Time) float64 {
		f := float64(t.Sub(from)) / float64(span)
		return plotL + min(max(f, 0), 1)*(plotR-plotL)
	}
	y := func(v, top float64) float64 {
		if top <= 0 {
			return plotB
		}
		return plotB - v/top*(plotB-topY)
	}
	var vp, rp strings.Builder
	for i, p := range pts {
		x0, x1 := x(p.Time), x(p.Time.Add(step))
		vy, ry := y(p.Value, vmax), y(float64(p.Replicas), float64(rmax))
		if i > 0 && pts[i-1].Time.Add(step).Equal(p.Time) {
			fmt.Fprintf(&vp, "V%.1fH%.1f", vy, x1)
			fmt.Fprintf(&rp, "V%.1fH%.1f", ry, x1)
			continue
		}
		fmt.Fprintf(&vp, "M%.1f %.1fH%.1f", x0, vy, x1)
		fmt.Fprintf(&rp, "M%.1f %.1fH%.1f", x0, ry, x1)
	}
	c.ValuePath, c.ReplicasPath = vp.String(), rp.String()
	if len(pts) == 0 {
		c.Desc = fmt.Sprintf("No samples in the last %s.", c.Span)
		return c
	}
	vmin := math.Inf(1)
	rmin := int64(math.MaxInt64)
	for _, p := range pts {
		vmin, rmin = min(vmin, p.Value), min(rmin, p.Replicas)
	}
	c.Desc = fmt.Sprintf("Over the last %s (%d points): demand between %s and %s, desired replicas between %d and %d; now %s and %d.",
		c.Span, len(pts), formatNum(vmin), c.ValueMax, rmin, rmax, formatNum(pts[len(pts)-1].Value), pts[len(pts)-1].Replicas)
	return c
}

// formatNum prints integers whole and other numbers with 4 significant
// digits.
func formatNum(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// formatDuration drops a duration's zero minutes and seconds: 3h, 1h30m.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
