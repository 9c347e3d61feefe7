package inference

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVariantsClosedLoop: one Service over two Deployments of one model,
// llama-a100 (cost 3; TTFT 0.1 s at no load, 2000 prompt tokens/s flat
// out, 1600 within 500ms) and llama-l4 (cost 1; 500 flat out, 400 within
// 500ms): the a100's tokens are the cheaper (0.0019 against 0.0025 per
// tokens/s). The router spreads the demand over the ready pods in
// proportion to their capacity. Each variant's trigger (variants
// a100=3,l4=1 by pod names, targetTTFT p90:500ms) reads one shared scrape;
// both capacities are learned from each variant's own pods during the
// ramp, then the split decides: at 5000 prompt tokens/s it holds a split
// costing at most 11 (the least within the goal is 3 a100 + 1 l4, 10; at
// the band's edge 3 + 2, 11) without a change for 100 s, with the TTFT
// p90 within the goal on both; at 2000 it holds one costing at most 6.
func TestVariantsClosedLoop(t *testing.T) {
	a100Work, l4Work := prefillWork, prefillWork
	a100Work.capacity, l4Work.capacity = 2000, 500
	a100Work.perRequest, l4Work.perRequest = 100, 100 // enough requests for a percentile of an l4's 15 s
	a := newLabFleet(t, "llama-a100", 8, 1, a100Work, "")
	l := newLabFleet(t, "llama-l4", 12, 2, l4Work, "")
	disc := &stubDiscovery{}
	env := fullEnv()
	env.Discovery = disc
	md := []string{"targets", "<unset>", "service", "llama", "namespace", "ai", "port", "http", "targetRequestRate", "12",
		"targetTTFT", "p90:500ms", "variants", "llama-a100=3,llama-l4=1"}
	trA := parseOK(t, with(append(md, "variant", "llama-a100")...), env)
	trL := parseOK(t, with(append(md, "variant", "llama-l4")...), env)
	up, err := trA.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	demand := func(sec int) float64 {
		switch {
		case sec < 200:
			return 800 + 4200*float64(sec)/200
		case sec < 450:
			return 5000
		}
		return 2000
	}
	type rec struct {
		a, l       int
		rule       string
		ttfA, ttfL float64
		actL       float64
	}
	var log []rec
	lastVariants := ""
	now := t0
	for sec := range 750 {
		capA, capL := float64(len(a.ready))*2000, float64(len(l.ready))*500
		d := demand(sec)
		a.serve(d*capA/(capA+capL), 0.1)
		l.serve(d*capL/(capA+capL), 0.1)
		disc.eps = append(a.endpoints(), l.endpoints()...)
		before := scrapes(a, l)
		now = now.Add(time.Second)
		s := pollAll(t, up, now, trA, trL)
		if got, want := scrapes(a, l)-before, int64(len(a.ready)+len(l.ready)); got != want {
			t.Fatalf("at %d s: %d scrapes for %d ready pods; want one per pod for both triggers", sec, got, want)
		}
		r := rec{int(s[0].Value), int(s[1].Value), s[0].Parts[0].Info, mustPart(t, s[0], "signal/ttft/p90").Value, mustPart(t, s[1], "signal/ttft/p90").Value, s[1].Activity}
		log = append(log, r)
		lastVariants = mustPart(t, s[0], "variants").Info
		if sec%20 == 0 || sec == 749 {
			t.Logf("%3d s: a100 %d, l4 %d: %s | %s", sec, r.a, r.l, r.rule, mustPart(t, s[0], "variants").Info)
		}
		a.follow(now, r.a)
		l.follow(now, r.l)
	}
	hold := func(from, to int, maxCost int) {
		t.Helper()
		for i := from; i < to; i++ {
			r := log[i]
			if !strings.HasPrefix(r.rule, "variant split") || strings.Contains(r.rule, "not learned") {
				t.Errorf("at %d s: %q; want the split of two learned variants", i, r.rule)
				return
			}
			if r.a != log[from].a || r.l != log[from].l || 3*r.a+r.l > maxCost {
				t.Errorf("at %d s: a100 %d, l4 %d (at %d s: %d and %d); want a steady split costing at most %d", i, r.a, r.l, from, log[from].a, log[from].l, maxCost)
				return
			}
		}
		if r := log[to-1]; !(r.ttfA <= 0.5) || !(r.ttfL <= 0.5) {
			t.Errorf("at %d s: observed p90 TTFT %.3gs on the a100 pods, %.3gs on the l4 pods; want within 500ms", to-1, r.ttfA, r.ttfL)
		}
	}
	hold(350, 450, 11)
	hold(650, 750, 6)
	// A variant the split gives no replica is inactive (KEDA may take it
	// to zero); one with a share is active.
	zero := 0
	for i, r := range log {
		if strings.HasPrefix(r.rule, "variant split") && !strings.Contains(r.rule, "not learned") && (r.l == 0) != (r.actL == 0) {
			t.Errorf("at %d s: l4 count %d, activity %g; want activity 0 exactly when the count is 0", i, r.l, r.actL)
			break
		}
		if r.l == 0 {
			zero++
		}
	}
	if zero == 0 {
		t.Errorf("the split never gave l4 no replica: the activity check saw nothing")
	}
	// Each variant's capacity is learned from its own pods: the truth is
	// 1600 and 400 prompt tokens/s per replica within 500ms.
	m := regexp.MustCompile(`llama-a100: cost 3, (\S+) promptTokens/s.*llama-l4: cost 1, (\S+) promptTokens/s`).FindStringSubmatch(lastVariants)
	if m == nil {
		t.Fatalf("variants part %q names no learned capacities", lastVariants)
	}
	ca, _ := strconv.ParseFloat(m[1], 64)
	cl, _ := strconv.ParseFloat(m[2], 64)
	if math.Abs(ca/1600-1) > 0.05 || math.Abs(cl/400-1) > 0.05 {
		t.Errorf("learned %g and %g tokens/s per replica within the goal; want within 5%% of 1600 and 400", ca, cl)
	}
}
