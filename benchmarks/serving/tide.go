package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// tide runs Tide's real inference trigger, not a copy of its law: Parse
// with the metadata a user would write, the trigger's own upstream
// (Query().Open()) polled every second at the simulated time, scraping
// each simulated pod's /metrics over loopback HTTP. The pods are found
// through a Discovery that lists the fleet as a Service's EndpointSlices
// would (ready pods ready, starting pods not ready, draining pods gone).
// The sample's value (the desired count) goes to the HPA as an
// AverageValue metric of target 1 every 15 s, as under KEDA.
type tide struct {
	h     *hpaLoop
	q     sources.Query
	up    sources.Upstream
	disc  *fleetDiscovery
	slots map[string]*slot
	free  []*slot
	value float64
	err   error // the first failed poll: the run is void
	// Last is the newest sample, for tests and explain-like output.
	last sources.Sample
}

// slot is one loopback HTTP server standing in for a pod's /metrics.
type slot struct {
	mu   sync.Mutex
	st   vllmfake.State
	srv  *httptest.Server
	port int32
}

func newSlot() (*slot, error) {
	s := &slot{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		st := s.st
		s.mu.Unlock()
		vllmfake.Serve(w, st)
	}))
	_, port, err := net.SplitHostPort(s.srv.Listener.Addr().String())
	if err != nil {
		s.srv.Close()
		return nil, err
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		s.srv.Close()
		return nil, err
	}
	s.port = int32(n)
	return s, nil
}

func (s *slot) set(st vllmfake.State) {
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
}

// fleetDiscovery is the Service of the simulated fleet.
type fleetDiscovery struct {
	mu  sync.Mutex
	eps []inference.ServiceEndpoint
}

func (d *fleetDiscovery) Follow(string, string) (inference.Service, error) { return d, nil }

func (d *fleetDiscovery) Endpoints(context.Context) ([]inference.ServiceEndpoint, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]inference.ServiceEndpoint(nil), d.eps...), nil
}

func (d *fleetDiscovery) Close() error { return nil }

// TideMetadata is the trigger metadata of the tide-goal policy for tr.
func TideMetadata(tr *Trace) metadata.Metadata {
	return metadata.Metadata{
		"source": "inference", "service": "vllm", "namespace": "serving", "port": "http",
		"targetTTFT": tr.Goal.TTFT, "targetTPOT": tr.Goal.TPOT, "tpotMetric": tpotMetric,
		// The KPA's decision until a capacity is learned: the same
		// concurrency target as the kpa-concurrency policy.
		"targetRunning": strconv.FormatFloat(tr.KPAConcurrency, 'g', -1, 64),
		// The harness polls the upstream every simulated second itself;
		// the interval only schedules the engine's polls, which do not run
		// here. The long timeout keeps a loaded machine's slow loopback
		// answer from counting as a failed pod (TestAFailedScrapeVoidsTheRun).
		"scrapeInterval": "30s", "scrapeTimeout": "30s",
	}
}

func newTide(tr *Trace) (scaler, error) {
	d := &fleetDiscovery{}
	md := TideMetadata(tr)
	delete(md, "source")
	trig, err := inference.Parse(md, inference.Env{Discovery: d})
	if err != nil {
		return nil, fmt.Errorf("tide trigger %v: %w", md, err)
	}
	up, err := trig.Query().Open()
	if err != nil {
		return nil, err
	}
	return &tide{h: newHPALoop(tr, exactBehavior()), q: trig.Query(), up: up, disc: d, slots: map[string]*slot{}}, nil
}

// publish puts every pod's state behind its server and lists the
// endpoints.
func (t *tide) publish(v *view) error {
	return t.publishPods(v.now, []*Fleet{v.fleet}, func(_ int, m *member) string { return m.name }, t.disc)
}

// publishPods puts the pods of fleets behind t's servers, each named
// name(its fleet's index, it), and lists them in disc.
func (t *tide) publishPods(now int, fleets []*Fleet, name func(int, *member) string, disc *fleetDiscovery) error {
	seen := map[string]bool{}
	var eps []inference.ServiceEndpoint
	for i, f := range fleets {
		for _, m := range f.members {
			if m.draining {
				continue
			}
			n := name(i, m)
			s := t.slots[n]
			if s == nil {
				if k := len(t.free); k > 0 {
					s, t.free = t.free[k-1], t.free[:k-1]
				} else {
					var err error
					if s, err = newSlot(); err != nil {
						return err
					}
				}
				t.slots[n] = s
			}
			seen[n] = true
			s.set(m.state())
			eps = append(eps, inference.ServiceEndpoint{Pod: n, IP: "127.0.0.1", Ports: map[string]int32{"http": s.port}, Ready: m.ready(float64(now))})
		}
	}
	for n, s := range t.slots {
		if !seen[n] {
			delete(t.slots, n)
			t.free = append(t.free, s)
		}
	}
	disc.mu.Lock()
	disc.eps = eps
	disc.mu.Unlock()
	return nil
}

func (t *tide) step(v *view) (int, bool) {
	if err := t.publish(v); err != nil {
		return 0, false
	}
	r := t.up.Poll(context.Background(), epoch.Add(time.Duration(v.now)*time.Second), []sources.Query{t.q})
	if r[0].Err == nil { // an error holds the last value, as KEDA's HPA would see the last metric fail
		t.value, t.last = r[0].Sample.Value, r[0].Sample
	}
	// Every pod answers in the model: a failed scrape is the machine (a
	// loopback scrape past scrapeTimeout under load), and it would change
	// the decisions, so the run fails rather than report them.
	if t.err == nil {
		if r[0].Err != nil {
			t.err = fmt.Errorf("tide poll at %d s: %w", v.now, r[0].Err)
		}
		for _, n := range r[0].Sample.Notes {
			if strings.Contains(n, "failed to scrape") {
				t.err = fmt.Errorf("tide poll at %d s: %s", v.now, n)
			}
		}
	}
	return t.h.sync(v, replicasMetric(max(t.value, 1)))
}

func (t *tide) close() error {
	t.closeServers()
	return errors.Join(t.err, t.up.Close())
}

// closeServers stops the pods' servers.
func (t *tide) closeServers() {
	for _, s := range t.slots {
		s.srv.Close()
	}
	for _, s := range t.free {
		s.srv.Close()
	}
}
