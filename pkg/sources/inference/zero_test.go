package inference

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// TestZeroPodsIsUnknown: a scrape trigger whose Service has no ready pods
// reads no per-pod series. Without a wake signal the demand is explained
// as unknown (the decision's reason, NaN signals, and a note the status
// metrics carry), never as a measured 0; with model set (pushed requests,
// which exist at zero replicas) it is the ordinary zero demand.
func TestZeroPodsIsUnknown(t *testing.T) {
	md := with("targets", "<unset>", "service", "vllm", "namespace", "ai", "port", "http", "targetWaiting", "2")
	p := newPoller(t, parseOK(t, md, fullEnv()))
	s := p.mustPoll(0)
	if s.Value != 0 || s.Activity != 0 {
		t.Errorf("value %v activity %v; want 0 replicas, inactive", s.Value, s.Activity)
	}
	if !slices.Contains(s.Notes, noteNoWake) {
		t.Errorf("notes %q lack %q", s.Notes, noteNoWake)
	}
	if d := mustPart(t, s, "decision"); !strings.HasPrefix(d.Info, "unknown: no pods") {
		t.Errorf("decision reason %q; want it to start with 'unknown: no pods'", d.Info)
	}
	for _, name := range []string{"signal/waiting", "signal/requestRate"} {
		if v := mustPart(t, s, name); !math.IsNaN(v.Value) || !strings.HasPrefix(v.Info, "unknown: no pods") {
			t.Errorf("%s = %+v; want unknown, not 0", name, v)
		}
	}

	md["model"] = "llama"
	p = newPoller(t, parseOK(t, md, fullEnv()))
	s = p.mustPoll(0)
	if slices.Contains(s.Notes, noteNoWake) || !slices.Contains(s.Notes, noteNoEndpoints) {
		t.Errorf("with model set: notes %q; want %q only", s.Notes, noteNoEndpoints)
	}
	if d := mustPart(t, s, "decision"); strings.HasPrefix(d.Info, "unknown") {
		t.Errorf("with model set: decision %q", d.Info)
	}
}

// TestWarnsWithoutWakeSignal: a scrape trigger that reads only per-pod
// series says at parse time that it cannot wake from zero; one with model
// or eppTargets, and the other modes, do not.
func TestWarnsWithoutWakeSignal(t *testing.T) {
	if w := parseOK(t, with(), fullEnv()).Warnings(); len(w) != 1 || !strings.Contains(w[0], "cannot activate a workload from zero") {
		t.Errorf("per-pod only: warnings %q", w)
	}
	for name, md := range map[string]map[string]string{
		"model":      with("model", "llama"),
		"eppTargets": with("eppTargets", "http://epp:9090"),
		"push":       {"source": "inference", "mode": "push", "model": "llama", "targetRequestRate": "1"},
	} {
		if w := parseOK(t, md, fullEnv()).Warnings(); len(w) != 0 {
			t.Errorf("%s: warnings %q; want none", name, w)
		}
	}
}
