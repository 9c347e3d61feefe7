package inference

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tide-scaler/tide/pkg/sources"
)

// scrapeQuery reads the signals of one set of pods and decides on them.
// Queries on the same pods with the same scrape settings share one
// upstream, hence one scrape per pod per interval.
type scrapeQuery struct {
	targets *scrapeTargets
	sig     signalSpec
	win     windowParams
	model   string // wake on pushes for this model ("" = none)
	push    *Store
	key     string
	// variants: the model's variants, sized together by the upstream's
	// group of groupKey (the key without the chosen variant); nil: none.
	variants *variantSpec
	groupKey string
}

var _ sources.Query = (*scrapeQuery)(nil)

func newScrapeQuery(t *scrapeTargets, sig signalSpec, win windowParams, model string, push *Store, v *variantSpec) *scrapeQuery {
	q := &scrapeQuery{targets: t, sig: sig, win: win, model: model, push: push, variants: v}
	var b strings.Builder
	b.WriteString(t.endpoint.Key)
	for i, k := range signalKeys {
		fmt.Fprintf(&b, "|%s=%q/%g", k.name, sig.metrics[i], sig.targets[i])
	}
	b.WriteString(sig.observed.key())
	b.WriteString(sig.slo.key())
	b.WriteString(sig.epp.key())
	fmt.Fprintf(&b, "|selector=%s|model=%q", selectorString(sig.selector), model)
	if model != "" {
		fmt.Fprintf(&b, "|store=%p", push)
	}
	b.WriteString(win.key())
	fmt.Fprintf(&b, "|role=%q%s", sig.role, sig.member.key())
	if v != nil {
		b.WriteString(v.key())
		q.groupKey = b.String()
		fmt.Fprintf(&b, "|variant=%q", v.names[v.chosen])
	}
	q.key = b.String()
	return q
}

// Key holds the upstream and everything that shapes the sample, windows
// and targets included.
func (q *scrapeQuery) Key() string                { return q.key }
func (q *scrapeQuery) Upstream() sources.Endpoint { return q.targets.endpoint }

// Open builds the shared scraper of the query's targets; with Kubernetes
// discovery it starts following the Service.
func (q *scrapeQuery) Open() (sources.Upstream, error) {
	return newScrapeUpstream(q.targets)
}

// key renders the window parameters for query keys.
func (p windowParams) key() string {
	return fmt.Sprintf("|stable=%s|panic=%s|panicThreshold=%g|up=%g|down=%g|delay=%s|grace=%s",
		p.stable, p.panic, p.panicThreshold, p.maxUpRate, p.maxDownRate, p.scaleDownDelay, p.zeroGrace)
}

// pushQuery decides on one model's pushed request rate.
type pushQuery struct {
	store  *Store
	model  string
	target float64
	win    windowParams
	key    string
	ep     sources.Endpoint
}

var _ sources.Query = (*pushQuery)(nil)

func newPushQuery(s *Store, model string, target float64, win windowParams) *pushQuery {
	id := fmt.Sprintf("%p", s) // one upstream per store; a pointer is no secret
	return &pushQuery{store: s, model: model, target: target, win: win,
		ep:  sources.Endpoint{Key: "inference-push|" + id, Name: "push://tide", Interval: pushInterval},
		key: "inference-push|" + id + "|model=" + strconv.Quote(model) + "|target=" + strconv.FormatFloat(target, 'g', -1, 64) + win.key()}
}

func (q *pushQuery) Key() string                     { return q.key }
func (q *pushQuery) Upstream() sources.Endpoint      { return q.ep }
func (q *pushQuery) Open() (sources.Upstream, error) { return newPushUpstream(q.store), nil }
