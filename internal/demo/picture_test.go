package demo

import (
	"encoding/xml"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestRule(t *testing.T) {
	for _, c := range []struct{ why, want string }{
		{"activated (KEDA 0→1)", "KEDA activation 0→1"},
		{"idle at zero", "idle at zero"},
		{"inactive for cooldown 300ms (KEDA →0)", "KEDA cooldown →0"},
		{"HPA: ScaleUpLimit (metric asks for 9), metric capped at 4 partitions", "partition cap"},
		{"HPA: ScaleUpLimit (metric asks for 9)", "HPA ScaleUpLimit"},
		{"HPA: DesiredWithinRange; KPA scrape: panic", "HPA DesiredWithinRange"},
		{"scaler error, replicas held: unavailable", "scaler error (held)"},
		{"something new", "other"},
	} {
		if got := rule(c.why); got != c.want {
			t.Errorf("rule(%q) = %q, want %q", c.why, got, c.want)
		}
	}
}

func TestNiceTop(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 1: 1, 3: 5, 10: 10, 11: 20, 420: 500, 2001: 5000} {
		if got := niceTop(v); got != want {
			t.Errorf("niceTop(%g) = %g, want %g", v, got, want)
		}
	}
}

// svgChart is the part of a workload's SVG the checks read.
type svgChart struct {
	Workload  string  `xml:"data-workload,attr"`
	Points    int     `xml:"data-points,attr"`
	RepTop    float64 `xml:"data-replicas-top,attr"`
	BackTop   float64 `xml:"data-backlog-top,attr"`
	PlotTop   float64 `xml:"data-plot-top,attr"`
	PlotH     float64 `xml:"data-plot-height,attr"`
	Polylines []struct {
		Class  string `xml:"class,attr"`
		Points string `xml:"points,attr"`
	} `xml:"polyline"`
	Rects []struct {
		Class string `xml:"class,attr"`
		Title string `xml:"title"`
	} `xml:"rect"`
}

// checkPicture reads the demo's picture and checks it against the run: one
// chart per workload with one point per row of the live view, the replicas
// line peaking at the summary's peak, a backlog that rose, and the rules
// the rows named in the band.
func checkPicture(t *testing.T, path, view string, peaks map[string]int, rules map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the demo wrote no picture: %v", err)
	}
	if !strings.Contains(view, "picture of this run (backlog, replicas, the rule that set them): "+path) {
		t.Errorf("the live view does not say where the picture is")
	}
	svgs := regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(string(b), -1)
	if len(svgs) != len(peaks) {
		t.Fatalf("%d charts, want %d (one per workload)", len(svgs), len(peaks))
	}
	for _, s := range svgs {
		var c svgChart
		if err := xml.Unmarshal([]byte(s), &c); err != nil {
			t.Fatalf("chart is not well-formed SVG: %v", err)
		}
		peak, ok := peaks[c.Workload]
		if !ok {
			t.Errorf("chart for unknown workload %q", c.Workload)
			continue
		}
		rows := len(regexp.MustCompile(`(?m)^ *\d+s +\S+ +`+regexp.QuoteMeta(c.Workload)+` `).FindAllString(view, -1))
		if c.Points != rows {
			t.Errorf("%s: %d points, the live view has %d rows", c.Workload, c.Points, rows)
		}
		lines := map[string]float64{}
		for _, pl := range c.Polylines {
			top := c.RepTop
			if pl.Class == "backlog" {
				top = c.BackTop
			}
			highest := 0.0
			for _, xy := range strings.Fields(pl.Points) {
				_, ys, _ := strings.Cut(xy, ",")
				y, err := strconv.ParseFloat(ys, 64)
				if err != nil {
					t.Fatalf("%s: bad point %q", c.Workload, xy)
				}
				highest = math.Max(highest, top*(1-(y-c.PlotTop)/c.PlotH))
			}
			lines[pl.Class] = highest
		}
		if got := int(math.Round(lines["replicas"])); got != peak {
			t.Errorf("%s: the replicas line peaks at %d, the run peaked at %d", c.Workload, got, peak)
		}
		if lines["backlog"] <= 0 {
			t.Errorf("%s: the backlog line never rises", c.Workload)
		}
		seen := map[string]bool{}
		for _, r := range c.Rects {
			if r.Class == "rule" {
				seen[r.Title] = true
			}
		}
		for _, want := range rules[c.Workload] {
			if !seen[want] {
				t.Errorf("%s: the rule band lacks %q; has %v", c.Workload, want, seen)
			}
		}
	}
}
