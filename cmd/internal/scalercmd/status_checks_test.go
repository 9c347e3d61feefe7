package scalercmd

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The page's chart colours (pkg/status/page.html).
var (
	demandBlue     = color.RGBA{0x1a, 0x56, 0xb0, 0xff}
	replicasOrange = color.RGBA{0x9c, 0x42, 0x00, 0xff}
)

type chartBox struct {
	ID                 string
	X, Y, W, H         float64
	Demand, Replicas   string // the paths' d attributes
	Title, Description string
}

type axeResult struct {
	Violations []struct {
		ID, Impact, Help string
		Nodes            []string
	}
	Passes []string
}

const (
	rowsJS   = `[...document.querySelectorAll("tr.trigger")].map(r => [...r.cells].map(c => c.innerText.trim()))`
	chartsJS = `[...document.querySelectorAll("figure svg")].map(s => { const b = s.getBoundingClientRect();
		const [t, d] = s.getAttribute("aria-labelledby").split(" ").map(id => document.getElementById(id)?.textContent || "");
		return {ID: s.parentElement.id, X: b.x, Y: b.y, W: b.width, H: b.height,
			Demand: s.querySelector("path.demand")?.getAttribute("d") || "",
			Replicas: s.querySelector("path.replicas")?.getAttribute("d") || "", Title: t, Description: d}; })`
	axeJS = `axe.run(document).then(r => ({
		Violations: r.violations.map(v => ({ID: v.id, Impact: v.impact || "", Help: v.help, Nodes: v.nodes.map(n => n.html)})),
		Passes: r.passes.map(p => p.id)}))`
)

// cdp runs one value-returning action, failing the test with what it was.
func cdp[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("Chromium: %s: %v", what, err)
	}
	return v
}

// statusBrowser loads the page in Chromium and checks what it shows:
//   - the rows: three triggers, sorted by namespace, with source, upstream,
//     value/target, activity, replicas, sample age and last error;
//   - the charts: one per trigger with samples, each an SVG with an
//     accessible name and description and both lines drawn;
//   - a screenshot (no stored image; these expectations): a PNG of the
//     viewport's size, a white background, many colours (text, lines), and
//     inside each chart's plot area pixels of the demand line's blue and
//     the replicas line's orange;
//   - axe-core finds no accessibility violation, and does find one once the
//     filter's label is removed (so it really ran);
//   - the namespace filter, used as a person would (choose, submit), leaves
//     the one row of that namespace.
func statusBrowser(t *testing.T, bctx context.Context, url, axe string) {
	// The first action starts the tab on the browser's own context: a
	// timeout there would end the tab, so it goes on the later ones.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("Chromium: open a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
	defer cancel()
	const vw, vh = 1400, 1000
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(vw, vh), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("triggers"))); err != nil {
		t.Fatalf("Chromium: load %s: %v", url, err)
	}
	if title := cdp(t, ctx, "title", chromedp.Title()); title != "Tide status" {
		t.Errorf("title %q; want Tide status", title)
	}
	checkRows(t, cdp(t, ctx, "rows", chromedp.Evaluate[[][]string](rowsJS)))
	cdp(t, ctx, "scroll", chromedp.Evaluate[bool](`document.getElementById("chart-1").scrollIntoView(); true`))
	charts := cdp(t, ctx, "charts", chromedp.Evaluate[[]chartBox](chartsJS))
	checkCharts(t, charts)
	checkScreenshot(t, cdp(t, ctx, "screenshot", chromedp.CaptureScreenshot()), vw, vh, charts)

	cdp(t, ctx, "load axe-core", chromedp.Evaluate[bool](axe+";true"))
	res := cdp(t, ctx, "axe.run", chromedp.Evaluate[axeResult](axeJS, chromedp.EvalAwaitPromise))
	for _, v := range res.Violations {
		t.Errorf("axe-core: %s (%s): %s, at %q", v.ID, v.Impact, v.Help, v.Nodes)
	}
	if len(res.Passes) < 10 {
		t.Errorf("axe-core passed only %d rules (%v); did it run?", len(res.Passes), res.Passes)
	}
	t.Logf("axe-core: %d rules passed, %d violations", len(res.Passes), len(res.Violations))
	// Positive control: without its label the filter has no name.
	cdp(t, ctx, "remove the label", chromedp.Evaluate[bool](`document.querySelector("label[for=namespace]").remove(); true`))
	if broken := cdp(t, ctx, "axe.run", chromedp.Evaluate[axeResult](axeJS, chromedp.EvalAwaitPromise)); !hasViolation(broken, "select-name") {
		t.Errorf("control: axe-core found no select-name violation with the filter's label removed: %+v", broken.Violations)
	}

	// The filter, used through the form.
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("namespace")),
		chromedp.SetValue(chromedp.ID("namespace"), "broken"), chromedp.Click(chromedp.CSS(`button[type="submit"]`))); err != nil {
		t.Fatalf("Chromium: submit the namespace filter: %v", err)
	}
	// The submit navigates: poll until the new page is there (an
	// evaluation that meets the navigation fails, and is tried again).
	for {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`location.search === "?namespace=broken" && document.readyState === "complete"`))
		if err == nil && done {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Chromium: the filtered page never loaded: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rows := cdp(t, ctx, "filtered rows", chromedp.Evaluate[[][]string](rowsJS)); len(rows) != 1 || rows[0][0] != "broken" {
		t.Errorf("filtered by namespace broken: rows %q; want the one row of broken", rows)
	}
}

func hasViolation(r axeResult, id string) bool {
	for _, v := range r.Violations {
		if v.ID == id {
			return true
		}
	}
	return false
}

// checkRows: the columns are Namespace, ScaledObject, Metric, Source,
// Upstream, Value / target, Active, Replicas, Limiting rule, Sample age,
// Last error, History.
func checkRows(t *testing.T, rows [][]string) {
	t.Helper()
	if len(rows) != 3 {
		t.Fatalf("%d rows: %q; want 3", len(rows), rows)
	}
	for i, want := range [][2]string{{"broken", "lost"}, {"shop", "mailer"}, {"shop", "worker"}} {
		r := rows[i]
		if len(r) != 12 || r[0] != want[0] || r[1] != want[1] || r[3] != "redis" || !strings.HasPrefix(r[4], "redis://127.0.0.1:") {
			t.Errorf("row %d = %q; want %s/%s, source redis, upstream redis://127.0.0.1:...", i, r, want[0], want[1])
			return
		}
	}
	lost, mailer, worker := rows[0], rows[1], rows[2]
	if lost[5] != "none / 5" || lost[9] != "no sample" || !strings.Contains(lost[10], "127.0.0.1:1") || lost[11] != "none" {
		t.Errorf("unreachable trigger's row %q; want no value, no sample, an error naming 127.0.0.1:1, no chart", lost)
	}
	if mailer[5] != "2 / 1 (replicas mode)" || mailer[6] != "yes" || mailer[7] != "2" || mailer[10] != "none" || mailer[11] != "chart" {
		t.Errorf("mailer row %q; want 2 / 1 (replicas mode: ceil(3/2)), active, 2 replicas, no error, a chart", mailer)
	}
	if !strings.HasSuffix(worker[5], " / 5") || worker[6] != "yes" || worker[10] != "none" || worker[11] != "chart" || worker[9] == "no sample" {
		t.Errorf("worker row %q; want value / 5, active, a sample, no error, a chart", worker)
	}
}

func checkCharts(t *testing.T, charts []chartBox) {
	t.Helper()
	if len(charts) != 2 {
		t.Fatalf("%d charts: %+v; want 2 (the unreachable trigger has none)", len(charts), charts)
	}
	for _, c := range charts {
		if c.W != 640 || c.H != 200 || !strings.HasPrefix(c.Demand, "M") || !strings.HasPrefix(c.Replicas, "M") ||
			!strings.HasPrefix(c.Title, "History of ") || !strings.Contains(c.Description, "points): demand between") {
			t.Errorf("chart %+v; want 640x200 with both lines, a title and a description", c)
		}
	}
}

func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) int { return int(x>>8) - int(y) }
	dr, dg, db := d(r, want.R), d(g, want.G), d(b, want.B)
	return dr*dr+dg*dg+db*db <= tol*tol
}

func checkScreenshot(t *testing.T, shot []byte, vw, vh int, charts []chartBox) {
	t.Helper()
	if dir := os.Getenv("TIDE_STATUS_SCREENSHOT_DIR"); dir != "" {
		// For a person to look at; the test states its expectations below.
		os.WriteFile(filepath.Join(dir, "status.png"), shot, 0o644)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != vw || b.Dy() != vh {
		t.Errorf("screenshot is %v; want the %dx%d viewport", b, vw, vh)
	}
	if !near(img.At(2, 2), color.RGBA{0xff, 0xff, 0xff, 0xff}, 0) {
		t.Errorf("background at (2,2) is %v; want white", img.At(2, 2))
	}
	colours := map[color.Color]bool{}
	for y := 0; y < vh; y += 2 {
		for x := 0; x < vw; x += 2 {
			colours[img.At(x, y)] = true
		}
	}
	if len(colours) < 16 {
		t.Errorf("screenshot has %d colours; want at least 16 (text, borders, two lines), is it blank?", len(colours))
	}
	for _, c := range charts {
		// The plot area is (64,16)-(576,160) in the SVG's units, which
		// are CSS pixels (640 wide, viewBox 640) and device pixels at
		// scale factor 1.
		plot := image.Rect(int(c.X)+64, int(c.Y)+16, int(c.X)+576, int(c.Y)+160+2).Intersect(img.Bounds())
		var blue, orange int
		for y := plot.Min.Y; y < plot.Max.Y; y++ {
			for x := plot.Min.X; x < plot.Max.X; x++ {
				switch px := img.At(x, y); {
				case near(px, demandBlue, 40):
					blue++
				case near(px, replicasOrange, 40):
					orange++
				}
			}
		}
		t.Logf("chart %s at (%.0f,%.0f): %d blue and %d orange pixels in the plot area %v", c.ID, c.X, c.Y, blue, orange, plot)
		if plot.Empty() || blue < 100 || orange < 50 {
			t.Errorf("chart %s: %d pixels of the demand line's blue (want >= 100) and %d of the replicas line's orange (want >= 50) in its plot area %v",
				c.ID, blue, orange, plot)
		}
	}
}
