package inference

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// forgetQueriesAfter drops the window state of a query no poll has read
// for this long (its triggers went away).
const forgetQueriesAfter = 15 * time.Minute

// scrapeUpstream scrapes one set of pods for every query on them, once per
// interval, and keeps each query's windows. The engine serialises Poll, so
// the state needs no lock.
type scrapeUpstream struct {
	t       *scrapeTargets
	scraper *scraper
	svc     Service // nil for static targets
	states  map[string]*queryState
	groups  map[string]*variantGroup // by the variant queries' groupKey
	histAt  time.Time                // last poll that read the latency histograms
}

// histEvery is how often a poll reads the latency histograms. Their bucket
// lines are most of a vLLM exposition: parsing them on every 1 s scrape
// quadruples a poll's CPU (BenchmarkScrapeCycle100Pods), and percentiles
// over a 60 s window lose nothing but the window edge's precision when the
// increases arrive every 5 s (a pod's increase covers the whole gap).
const histEvery = 5 * time.Second

var _ sources.Upstream = (*scrapeUpstream)(nil)

func newScrapeUpstream(t *scrapeTargets) (*scrapeUpstream, error) {
	u := &scrapeUpstream{t: t, scraper: newScraper(t.timeout, t.auth), states: map[string]*queryState{},
		groups: map[string]*variantGroup{}}
	if t.discovery != nil {
		svc, err := t.discovery.Follow(t.namespace, t.service)
		if err != nil {
			return nil, fmt.Errorf("kubernetes discovery of service %s/%s: %w", t.namespace, t.service, err)
		}
		u.svc = svc
	}
	return u, nil
}

// Poll scrapes every target once (all queries share the scrape), then
// steps each query's windows. A query fails when no target answered, when
// discovery cannot say which pods exist, or when a configured metric is on
// no pod; never with a zero.
func (u *scrapeUpstream) Poll(ctx context.Context, now time.Time, queries []sources.Query) []sources.Result {
	results := make([]sources.Result, len(queries))
	qs := make([]*scrapeQuery, len(queries))
	specs := make([]*signalSpec, 0, len(queries))
	for i, sq := range queries {
		q, ok := sq.(*scrapeQuery)
		if !ok || q.targets.endpoint.Key != u.t.endpoint.Key {
			results[i].Err = fmt.Errorf("query %q is not for upstream %s", sq.Key(), u.t.endpoint.Name)
			continue
		}
		qs[i] = q
		specs = append(specs, &q.sig)
	}
	targets, notReady, err := u.targets(ctx)
	if err != nil {
		for i := range results {
			if qs[i] != nil {
				results[i].Err = err
			}
		}
		return results
	}
	wanted := wantedNames(specs...)
	if now.Before(u.histAt.Add(histEvery)) {
		for _, s := range specs {
			for _, h := range s.observed.hists {
				delete(wanted, h+"_bucket")
			}
		}
	} else {
		u.histAt = now
	}
	readings := u.scraper.scrapeAll(ctx, targets, wanted, u.t.concurrency)
	epp := u.scrapeEPP(ctx, qs)
	for i, q := range qs {
		if q == nil {
			continue
		}
		if q.variants != nil {
			results[i].Sample, results[i].Err = u.group(q).result(now, q, readings)
			continue
		}
		obs := extract(q.sig.member.pick(readings), &q.sig)
		if !q.sig.member.on() {
			obs.notReady = notReady // the role of a pod not scraped is unknown
		}
		if len(q.sig.epp.targets) > 0 {
			var rs []reading
			for _, t := range q.sig.epp.targets {
				rs = append(rs, epp[t])
			}
			r := combineEPP(rs, &q.sig.epp)
			obs.epp = &r
		}
		if q.model != "" {
			obs.pushRate, obs.wakes = q.push.rate(q.model, now, q.win.panic), true
		}
		results[i].Sample, results[i].Err = u.state(q).step(now, obs)
	}
	for k, st := range u.states {
		if now.Sub(st.polled) > forgetQueriesAfter {
			delete(u.states, k)
		}
	}
	for k, g := range u.groups {
		if now.Sub(g.at) > forgetQueriesAfter {
			delete(u.groups, k)
		}
	}
	return results
}

// scrapeEPP scrapes every EPP replica any query names, once, by URL.
func (u *scrapeUpstream) scrapeEPP(ctx context.Context, qs []*scrapeQuery) map[string]reading {
	var ts []target
	wanted := map[string]bool{}
	seen := map[string]bool{}
	for _, q := range qs {
		if q == nil {
			continue
		}
		for _, t := range q.sig.epp.targets {
			if !seen[t] {
				seen[t] = true
				ts = append(ts, target{name: t, url: t})
			}
		}
		maps.Copy(wanted, q.sig.epp.wanted())
	}
	out := map[string]reading{}
	if len(ts) == 0 {
		return out
	}
	for _, r := range u.scraper.scrapeAll(ctx, ts, wanted, u.t.concurrency) {
		out[r.target.url] = r
	}
	return out
}

func (u *scrapeUpstream) state(q *scrapeQuery) *queryState {
	st := u.states[q.key]
	if st == nil {
		st = newQueryState(q.win, q.sig)
		u.states[q.key] = st
	}
	return st
}

// targets lists the pods to scrape now.
func (u *scrapeUpstream) targets(ctx context.Context) ([]target, int, error) {
	if u.svc == nil {
		ts := make([]target, len(u.t.static))
		for i, s := range u.t.static {
			ts[i] = target{name: s, url: s}
		}
		return ts, 0, nil
	}
	eps, err := u.svc.Endpoints(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("endpoints of service %s/%s: %w", u.t.namespace, u.t.service, err)
	}
	return u.t.resolve(eps)
}

// Close stops scraping and, with discovery, following the Service.
func (u *scrapeUpstream) Close() error {
	u.scraper.close()
	if u.svc != nil {
		return u.svc.Close()
	}
	return nil
}

// extract reads one query's signals from every scraped pod: the sum over
// the pod's matching series (a pod may run several engines), and for the
// KV cache their mean, since it is a fraction of the pod's cache.
func extract(rs []reading, sig *signalSpec) observation {
	var obs observation
	for _, r := range rs {
		if errors.Is(r.err, errNotReady) {
			obs.notReady++
			continue
		}
		if r.err != nil {
			obs.failed = append(obs.failed, r)
			continue
		}
		p := podValues{name: r.target.name}
		for i, name := range sig.metrics {
			n := 0
			for _, s := range r.expo[name] {
				if matches(s.labels, sig.selector) {
					p.values[i] += s.value
					n++
				}
			}
			if i == sigRate && n == 0 && !strings.HasSuffix(name, "_total") {
				for _, s := range r.expo[name+"_total"] {
					if matches(s.labels, sig.selector) {
						p.values[i] += s.value
						n++
					}
				}
			}
			if i == sigKV && n > 0 {
				p.values[i] /= float64(n)
			}
			if i != sigRate {
				p.values[i] = max(p.values[i], 0) // a negative gauge is a bug upstream, not negative demand
			}
			p.has[i] = n > 0
		}
		p.obs = extractObserved(r.expo, &sig.observed, sig.selector)
		obs.pods = append(obs.pods, p)
	}
	return obs
}
