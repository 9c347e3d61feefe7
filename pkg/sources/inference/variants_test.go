package inference

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

// TestVariantGroupWakesTheCheapest: with both capacities learned, no pod
// anywhere and a request pushed for the model, the split gives one
// replica to the variant of the least cost (l4) and none to the other,
// which stays inactive.
func TestVariantGroupWakesTheCheapest(t *testing.T) {
	env := fullEnv()
	env.Discovery = &stubDiscovery{}
	md := []string{"targets", "<unset>", "service", "llama", "namespace", "ai", "targetRequestRate", "1", "targetTTFT", "p90:500ms",
		"variants", "a100=3,l4=1", "model", "m"}
	trA := parseOK(t, with(append(md, "variant", "a100")...), env)
	trL := parseOK(t, with(append(md, "variant", "l4")...), env)
	up, err := trA.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	g := up.(*scrapeUpstream).group(trA.Query().(*scrapeQuery))
	now := t0.Add(-time.Minute)
	for _, st := range g.states { // capacities learned a minute ago, while pods were up
		for _, x := range []float64{200, 400, 600} {
			now = now.Add(capSpacing)
			st.slo.caps[goalTTFT].Observe(now, x, mm1(0.1, 1000, x))
		}
		st.observed.seenCtr[ctrPrompt], st.observed.seenHist[histTTFT] = true, true
	}
	if err := env.Push.Add("m", 3, t0); err != nil { // the store's clock is t0
		t.Fatal(err)
	}
	s := pollAll(t, up, t0.Add(time.Second), trA, trL)
	if s[0].Value != 0 || s[0].Activity != 0 || s[1].Value != 1 || !(s[1].Activity > 0) {
		t.Errorf("a100 %g (activity %g), l4 %g (activity %g); want a100 0 and inactive, l4 1 and active: %s",
			s[0].Value, s[0].Activity, s[1].Value, s[1].Activity, s[1].Parts[0].Info)
	}
	if !strings.Contains(s[1].Parts[0].Info, "waking") {
		t.Errorf("l4's decision %q does not say it is waking", s[1].Parts[0].Info)
	}
}

// TestVariantGroupHoldsWhenOneIsUnreadable: when every pod of one variant
// fails to scrape, its trigger reports the error (never a 0) and the other
// variant holds the count of the previous split, saying why.
func TestVariantGroupHoldsWhenOneIsUnreadable(t *testing.T) {
	a := newLabPod(t, prefillWork, `,gpu="a100"`)
	l := newLabPod(t, prefillWork, `,gpu="l4"`)
	url := func(p *labPod) string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", p.port) }
	md := []string{"targets", url(a) + "," + url(l), "targetRequestRate", "1", "targetTTFT", "p90:500ms",
		"variants", "a100=3,l4=1", "variantLabel", "gpu"}
	trA := parseOK(t, with(append(md, "variant", "a100")...), fullEnv())
	trL := parseOK(t, with(append(md, "variant", "l4")...), fullEnv())
	up, err := trA.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	now := t0
	var before []float64
	for range 5 {
		a.serve(400, 0.1)
		l.serve(300, 0.1)
		now = now.Add(time.Second)
		s := pollAll(t, up, now, trA, trL)
		before = []float64{s[0].Value, s[1].Value}
	}
	l.fail.Store(true)
	a.serve(400, 0.1)
	now = now.Add(time.Second)
	rs := up.Poll(t.Context(), now, []sources.Query{trA.Query(), trL.Query()})
	if rs[1].Err == nil {
		t.Errorf("l4, every pod failing: sample %+v; want an error", rs[1].Sample)
	}
	if rs[0].Err != nil || rs[0].Sample.Value < before[0] || !strings.Contains(rs[0].Sample.Parts[0].Info, "variant split held: variant l4 is unreadable") {
		t.Errorf("a100: %v %g (%q); want at least the previous %g, held because l4 is unreadable", rs[0].Err, rs[0].Sample.Value,
			rs[0].Sample.Parts[0].Info, before[0])
	}
}
