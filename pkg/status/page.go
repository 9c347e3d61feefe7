package status

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// Pattern is the page's route on the HTTP mux.
const Pattern = "GET /status"

// Triggers lists the triggers the process holds (the trigger cache).
type Triggers interface {
	Triggers() []*trigger.Trigger
}

// Samples is the engine's cache, read without side effects.
type Samples interface {
	Peek(q sources.Query) (sources.Peeked, bool)
}

// Config configures a Page. Triggers and Samples are required.
type Config struct {
	Triggers Triggers
	Samples  Samples
	// Predict, when set, is HPA awareness: the replicas the ScaledObject's
	// HPA is expected to leave and the rule that limits them.
	Predict func(o trigger.Owner) (replicas int32, rule string, ok bool)
	// Every is how often Run records a point per trigger (default Step).
	Every time.Duration
	// Step and Span shape the chart: points of Step (default 1 m) over the
	// last Span (default 3 h).
	Step, Span time.Duration
	// MaxSeries bounds the triggers with a history (default 1000); MaxRows
	// the rows of one page (default 500).
	MaxSeries, MaxRows int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Page is the status page: its history and its handler.
type Page struct {
	cfg  Config
	hist *History[*trigger.Trigger]
	tmpl *template.Template
	csp  string
}

//go:embed page.html
var pageHTML string

// css is the page's only style, allowed by its hash in the policy.
const css = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fff}` +
	`header,main,footer{padding:0 16px}h1{font-size:20px;margin:12px 0 4px}h2{font-size:16px;margin:16px 0 8px}` +
	`table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:4px 0}` +
	`th,td{border:1px solid #8a8a8a;padding:3px 6px;text-align:left;vertical-align:top}th{background:#ececec}` +
	`td.num{text-align:right;font-variant-numeric:tabular-nums}td.err{color:#9b1c1c;max-width:28em;overflow-wrap:anywhere}` +
	`figure{margin:12px 0;display:inline-block;border:1px solid #8a8a8a;padding:4px}figcaption{font-weight:600}` +
	`svg text{font:12px system-ui,sans-serif}.v{fill:#1a56b0}.r{fill:#9c4200}.muted{color:#4a4a4a}` +
	`a{color:#1a4f9c}form{margin:8px 0}`

// New returns a page with no history yet.
func New(cfg Config) (*Page, error) {
	if cfg.Triggers == nil || cfg.Samples == nil {
		return nil, fmt.Errorf("status: Triggers and Samples are required")
	}
	if cfg.Step <= 0 {
		cfg.Step = time.Minute
	}
	if cfg.Span <= 0 {
		cfg.Span = 3 * time.Hour
	}
	if cfg.Every <= 0 {
		cfg.Every = cfg.Step
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = 1000
	}
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 500
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	tmpl, err := template.New("page").Parse(pageHTML)
	if err != nil {
		return nil, fmt.Errorf("status: page template: %w", err)
	}
	sum := sha256.Sum256([]byte(css))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	return &Page{cfg: cfg, hist: NewHistory[*trigger.Trigger](cfg.Step, cfg.Span, cfg.MaxSeries), tmpl: tmpl, csp: csp}, nil
}

// Record adds one point per trigger with a servable sample, stamped with
// the sample's time, and forgets the history of triggers no longer held.
func (p *Page) Record() {
	held := map[*trigger.Trigger]bool{}
	for _, t := range p.cfg.Triggers.Triggers() {
		held[t] = true
		if !p.hist.Has(t) && p.hist.Len() >= p.cfg.MaxSeries {
			continue // no room for its history: nothing to evaluate for
		}
		pk, ok := p.cfg.Samples.Peek(t.Query())
		if !ok || pk.Err != nil {
			continue
		}
		r := t.Describe(pk.Last)
		p.hist.Add(t, pk.Last.Time, r.Measurement.Value, r.Measurement.Replicas)
	}
	p.hist.Retain(func(t *trigger.Trigger) bool { return held[t] })
}

// Run records every Every until ctx ends.
func (p *Page) Run(ctx context.Context) {
	tick := time.NewTicker(p.cfg.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.Record()
		}
	}
}

// namespaceRE is a Kubernetes namespace: a DNS-1123 label.
var namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// ServeHTTP renders the page; ?namespace= keeps the rows of one namespace.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ns := q.Get("namespace")
	if len(q["namespace"]) > 1 {
		http.Error(w, "query parameter namespace: give it at most once", http.StatusBadRequest)
		return
	}
	if ns != "" && !namespaceRE.MatchString(ns) {
		http.Error(w, fmt.Sprintf("query parameter namespace: bad value %q: want a Kubernetes namespace "+
			"(1-63 lower-case letters, digits or '-', starting and ending with a letter or digit)", clip(ns, 100)),
			http.StatusBadRequest)
		return
	}
	var buf bytes.Buffer
	if err := p.tmpl.Execute(&buf, p.view(p.cfg.Now(), ns)); err != nil {
		http.Error(w, "status page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}

// clip shortens s to n bytes at a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// row is one trigger of one owner.
type row struct {
	Namespace, Name, Metric, Source, Upstream string
	Value, Target, Mode                       string
	Active                                    string
	Replicas, HPA, Rule                       string
	Age, Error                                string
	ChartID                                   string
}

type view struct {
	CSS        template.CSS
	Generated  string
	Namespace  string
	Namespaces []string
	Rows       []row
	Total      int // rows before MaxRows
	Hidden     int
	Charts     []Chart
	Span       string
}

func (p *Page) view(now time.Time, ns string) view {
	v := view{CSS: template.CSS(css), Generated: now.UTC().Format(time.RFC3339), Namespace: ns, Span: formatDuration(p.cfg.Span)}
	nss := map[string]bool{}
	type owned struct {
		t *trigger.Trigger
		o trigger.Owner
	}
	var list []owned
	for _, t := range p.cfg.Triggers.Triggers() {
		owners := t.Owners()
		if len(owners) == 0 {
			owners = []trigger.Owner{{}}
		}
		for _, o := range owners {
			if o.Namespace != "" {
				nss[o.Namespace] = true
			}
			if ns == "" || o.Namespace == ns {
				list = append(list, owned{t, o})
			}
		}
	}
	if ns != "" {
		nss[ns] = true // shown as chosen even when no trigger has it
	}
	for n := range nss {
		v.Namespaces = append(v.Namespaces, n)
	}
	slices.Sort(v.Namespaces)
	slices.SortFunc(list, func(a, b owned) int {
		return strings.Compare(a.o.Namespace+"\x00"+a.o.Name+"\x00"+a.t.MetricName(),
			b.o.Namespace+"\x00"+b.o.Name+"\x00"+b.t.MetricName())
	})
	v.Total = len(list)
	if len(list) > p.cfg.MaxRows {
		v.Hidden = len(list) - p.cfg.MaxRows
		list = list[:p.cfg.MaxRows]
	}
	charts := map[*trigger.Trigger]string{}
	for _, e := range list {
		id, ok := charts[e.t]
		if !ok && p.hist.Has(e.t) {
			id = fmt.Sprintf("chart-%d", len(v.Charts)+1)
			charts[e.t] = id
			v.Charts = append(v.Charts, plot(id, e.t.MetricName()+" ("+e.t.Source()+", "+e.t.Upstream()+")",
				p.hist.Points(e.t, now), now, p.cfg.Step, p.cfg.Span))
		}
		v.Rows = append(v.Rows, p.row(now, e.t, e.o, id))
	}
	return v
}

func (p *Page) row(now time.Time, t *trigger.Trigger, o trigger.Owner, chartID string) row {
	rw := row{Namespace: o.Namespace, Name: o.Name, Metric: t.MetricName(), Source: t.Source(), Upstream: t.Upstream(),
		Target: formatNum(t.Target()), Mode: string(t.Options().Mode), ChartID: chartID,
		Value: "none", Replicas: "none", Rule: "none", Age: "no sample"}
	active, _ := t.Active()
	rw.Active = map[bool]string{true: "yes", false: "no"}[active]
	if pk, ok := p.cfg.Samples.Peek(t.Query()); ok {
		if !pk.Last.Time.IsZero() {
			r := t.Describe(pk.Last)
			rw.Value, rw.Replicas = formatNum(r.Value), fmt.Sprint(r.Measurement.Replicas)
			if r.Measurement.Rule != "" {
				rw.Rule = r.Measurement.Rule
			}
			rw.Age = formatAge(now.Sub(pk.Last.Time))
		}
		if pk.Err != nil {
			rw.Error = clip(pk.Err.Error(), 500)
		}
	}
	if p.cfg.Predict != nil && o.Namespace != "" {
		if n, rule, ok := p.cfg.Predict(o); ok {
			rw.HPA, rw.Rule = fmt.Sprint(n), rule
		}
	}
	return rw
}

// formatAge rounds an age to what a reader needs: tenths under 10 s.
func formatAge(d time.Duration) string {
	if d < 0 {
		return "from the future (" + (-d).Round(time.Second).String() + ")"
	}
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
