package status

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

func newPage(t testing.TB, f *fixture, now *time.Time, cfg Config) *Page {
	t.Helper()
	cfg.Triggers, cfg.Samples, cfg.Now = f.cache, f.eng, func() time.Time { return *now }
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// get serves one request and returns the status, headers and body.
func get(t testing.TB, p *Page, target string) (int, http.Header, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, rec.Result().Header, string(b)
}

// rows parses the page and returns the text of each trigger row's cells.
func rows(t *testing.T, body string) [][]string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	var text func(*html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "tr" && attr(n, "class") == "trigger" {
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "td" {
					cells = append(cells, strings.TrimSpace(text(c)))
				}
			}
			out = append(out, cells)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// TestPageRows: one row per trigger and owner, sorted, with what the
// engine and the trigger say now; a trigger nobody owns yet has no
// namespace; HPA awareness's prediction names the limiting rule.
func TestPageRows(t *testing.T) {
	f := newFixture(t)
	now := t0.Add(time.Minute)
	f.add(t, map[string]string{"source": "queue", "queue": "jobs", "target": "5", "upstream": "redis://10.0.0.1:6379/0"},
		"shop", "worker", "audit", "copy")
	f.add(t, map[string]string{"source": "queue", "queue": "mail", "metricMode": "replicas"}, "shop", "mailer")
	f.add(t, map[string]string{"source": "queue", "queue": "fresh"})
	f.eng.set("jobs", sources.Peeked{Last: sources.Sample{Time: now.Add(-1500 * time.Millisecond), Value: 23, Activity: 23}})
	f.eng.set("mail", sources.Peeked{Last: sources.Sample{Time: now.Add(-42 * time.Second), Value: 7},
		Err: errors.New("redis://mail:6379: connection refused")})
	p := newPage(t, f, &now, Config{Predict: func(o trigger.Owner) (int32, string, bool) {
		if o == (trigger.Owner{Namespace: "shop", Name: "worker"}) {
			return 3, "ScaleUpLimit", true
		}
		return 0, "", false
	}})
	code, _, body := get(t, p, "/status")
	if code != http.StatusOK {
		t.Fatalf("GET /status: %d %s", code, body)
	}
	want := [][]string{
		{"none", "none", "queue-fresh", "queue", "mem://queues", "none / 5", "no", "none", "none", "no sample", "none", "none"},
		{"audit", "copy", "queue-jobs", "queue", "redis://10.0.0.1:6379/0", "23 / 5", "no", "4", "QueueCapped", "1.5s", "none", "none"},
		{"shop", "mailer", "queue-mail", "queue", "mem://queues", "2 / 1 (replicas mode)", "no", "2", "none", "42s",
			"redis://mail:6379: connection refused", "none"},
		{"shop", "worker", "queue-jobs", "queue", "redis://10.0.0.1:6379/0", "23 / 5", "no", "4 (HPA: 3)", "ScaleUpLimit", "1.5s", "none", "none"},
	}
	got := rows(t, body)
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("rows:\n%s\nwant:\n%s", rowsText(got), rowsText(want))
	}
	if !strings.Contains(body, "4 of 4 triggers") {
		t.Errorf("caption does not count 4 of 4 triggers")
	}
}

func rowsText(rs [][]string) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %q\n", r)
	}
	return b.String()
}

// TestPageNamespaceFilter: ?namespace= keeps one namespace's rows; a value
// that is not a namespace, or the parameter twice, is a 400 naming the
// parameter (and the value, in plain text).
func TestPageNamespaceFilter(t *testing.T) {
	f := newFixture(t)
	now := t0
	f.add(t, map[string]string{"source": "queue", "queue": "a"}, "team-a", "x")
	f.add(t, map[string]string{"source": "queue", "queue": "b"}, "team-b", "y")
	p := newPage(t, f, &now, Config{})
	for _, tc := range []struct {
		query    string
		code     int
		names    []string // ScaledObjects shown
		contains string
	}{
		{query: "", code: 200, names: []string{"x", "y"}},
		{query: "?namespace=", code: 200, names: []string{"x", "y"}},
		{query: "?namespace=team-a", code: 200, names: []string{"x"}, contains: `<option value="team-a" selected>`},
		{query: "?namespace=nobody", code: 200, names: nil, contains: `<option value="nobody" selected>`},
		{query: "?namespace=Team-A", code: 400, contains: `query parameter namespace: bad value "Team-A"`},
		{query: "?namespace=%3Cscript%3E", code: 400, contains: `bad value "<script>"`},
		{query: "?namespace=" + strings.Repeat("a", 64), code: 400, contains: "bad value"},
		{query: "?namespace=team-a&namespace=team-b", code: 400, contains: "query parameter namespace: give it at most once"},
	} {
		code, hdr, body := get(t, p, "/status"+tc.query)
		if code != tc.code || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d %q; want %d containing %q", tc.query, code, body, tc.code, tc.contains)
			continue
		}
		if code != 200 {
			if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("%s: error served as %q; want text/plain", tc.query, ct)
			}
			continue
		}
		var names []string
		for _, r := range rows(t, body) {
			names = append(names, r[1])
		}
		if fmt.Sprint(names) != fmt.Sprint(tc.names) {
			t.Errorf("%s: rows of %v; want %v", tc.query, names, tc.names)
		}
	}
}

// TestPageEscapes: what tenants write (the namespace and name KEDA sends,
// upstream error text) is escaped, and the policy allows no script, so
// markup in them is text.
func TestPageEscapes(t *testing.T) {
	f := newFixture(t)
	now := t0
	evil := `"><script>alert(1)</script><img src=x onerror=alert(2)>`
	f.add(t, map[string]string{"source": "queue", "queue": "q"}, evil, evil)
	f.eng.set("q", sources.Peeked{Err: errors.New("upstream said " + evil)})
	p := newPage(t, f, &now, Config{})
	code, hdr, body := get(t, p, "/status")
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	for _, bad := range []string{"<script>", "<img", `"><`} {
		if strings.Contains(body, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	if got := rows(t, body); len(got) != 1 || got[0][0] != evil || got[0][1] != evil || got[0][10] != "upstream said "+evil {
		t.Errorf("row = %q; want the markup shown as text", got)
	}
	csp := hdr.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q; want default-src 'none' and no script source", csp)
	}
	for k, v := range map[string]string{"Content-Type": "text/html; charset=utf-8", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if hdr.Get(k) != v {
			t.Errorf("%s: %q; want %q", k, hdr.Get(k), v)
		}
	}
}

// TestPageHistory: Record adds a point per trigger from the engine's
// cached sample (none for a failing one), the page draws a chart per
// trigger with history, and a trigger the cache dropped loses its history.
func TestPageHistory(t *testing.T) {
	f := newFixture(t)
	now := t0
	f.add(t, map[string]string{"source": "queue", "queue": "a", "target": "10"}, "ns", "a")
	f.add(t, map[string]string{"source": "queue", "queue": "b"}, "ns", "b")
	p := newPage(t, f, &now, Config{Step: time.Minute, Span: time.Hour})
	for i, v := range []float64{10, 30, 20} {
		now = t0.Add(time.Duration(i) * time.Minute)
		f.eng.set("a", sources.Peeked{Last: sources.Sample{Time: now, Value: v}})
		f.eng.set("b", sources.Peeked{Err: errors.New("down")})
		p.Record()
	}
	_, _, body := get(t, p, "/status")
	if n := strings.Count(body, "<svg"); n != 1 {
		t.Fatalf("%d charts; want 1 (b never had a sample)", n)
	}
	for _, want := range []string{
		`<figure id="chart-1">`, `<a href="#chart-1">chart</a>`,
		`<svg role="img" aria-labelledby="chart-1-t chart-1-d"`,
		"demand between 10 and 30, desired replicas between 1 and 3; now 20 and 2",
		// The plot runs from x=64 to 576 over the hour that ends with the
		// step in progress (t0+3m): t0 is at 64+512*57/60 = 550.4, then
		// three contiguous steps of 512/60 units; y runs from 160 (0) to
		// 26 (the largest, 30).
		`d="M550.4 115.3H558.9V26.0H567.5V70.7H576.0"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s:\n%s", want, body[strings.Index(body, "<figure"):])
		}
	}
	f.cache.Sweep(t0.Add(time.Hour), nil)
	p.Record()
	if p.hist.Len() != 0 {
		t.Errorf("%d series after the cache dropped every trigger; want 0", p.hist.Len())
	}
}

// TestPageMaxRows: past MaxRows the page says how many rows it left out.
func TestPageMaxRows(t *testing.T) {
	f := newFixture(t)
	now := t0
	for i := range 5 {
		f.add(t, map[string]string{"source": "queue", "queue": fmt.Sprint(i)}, "ns", fmt.Sprint("so", i))
	}
	p := newPage(t, f, &now, Config{MaxRows: 3})
	_, _, body := get(t, p, "/status")
	if n := len(rows(t, body)); n != 3 || !strings.Contains(body, "3 of 5 triggers; 2 more not shown: filter by namespace") {
		t.Errorf("%d rows; want 3 and the caption saying 2 more", n)
	}
}
