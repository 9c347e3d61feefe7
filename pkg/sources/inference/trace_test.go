package inference

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// fleet is a simulated model-server fleet: pods become ready startup after
// they are asked for, each completes at most perPod requests/s, and what
// it cannot serve waits in a queue.
type fleet struct {
	ready   []string // pod names
	pending []pendingPod
	served  map[string]float64 // request counters per pod
	queue   float64
	next    int
}

type pendingPod struct {
	name    string
	readyAt time.Time
}

const (
	perPod  = 15.0
	startup = 5 * time.Second
)

// follow moves the fleet towards desired replicas: new pods start after
// the startup delay, surplus pods (pending first) go at once.
func (f *fleet) follow(now time.Time, desired int) {
	for len(f.ready)+len(f.pending) < desired {
		f.next++
		f.pending = append(f.pending, pendingPod{fmt.Sprintf("pod-%d", f.next), now.Add(startup)})
	}
	for len(f.ready)+len(f.pending) > desired {
		if n := len(f.pending); n > 0 {
			f.pending = f.pending[:n-1]
		} else {
			f.ready = f.ready[:len(f.ready)-1]
		}
	}
	kept := f.pending[:0]
	for _, p := range f.pending {
		if !now.Before(p.readyAt) {
			f.ready = append(f.ready, p.name)
		} else {
			kept = append(kept, p)
		}
	}
	f.pending = kept
}

// serve runs one second of arrivals and reports what the ready pods expose.
func (f *fleet) serve(arrivals float64) observation {
	f.queue += arrivals
	capacity := perPod * float64(len(f.ready))
	done := math.Min(f.queue, capacity)
	f.queue -= done
	var obs observation
	for _, name := range f.ready {
		f.served[name] += done / float64(len(f.ready))
		p := podValues{name: name, has: [numSignals]bool{true, true, true, true}}
		p.values[sigRate] = f.served[name]
		p.values[sigWaiting] = f.queue / float64(len(f.ready))
		p.values[sigRunning] = done / float64(len(f.ready))
		obs.pods = append(obs.pods, p)
	}
	return obs
}

// TestTraceBurstPanicDrainZero drives the windows with a simulated trace
// and an injected clock (no I/O, no real time): a pushed request wakes the
// model at zero, a burst panics it up, it never scales down while
// panicking, the drain steps down at most by maxScaleDownRate per decision,
// and it goes inactive exactly stableWindow + scaleToZeroGracePeriod after
// the last request.
func TestTraceBurstPanicDrainZero(t *testing.T) {
	p := kpaDefaults()
	var sig signalSpec
	sig.targets[sigRate] = 10
	sig.targets[sigWaiting] = 10 // the queue leads; completions are capped by capacity
	sig.metrics = [numSignals]string{"r", "w", "run", "kv"}
	st := newQueryState(p, sig)
	f := &fleet{served: map[string]float64{}}
	arrivals := func(s int) float64 {
		switch {
		case s < 10:
			return 0
		case s < 70:
			return 200 // burst
		case s < 130:
			return 50
		}
		return 0 // drained
	}
	const lastTraffic = 130 // the queue is empty well before
	var (
		desired, peak, prev  int
		panicked, wentIdle   bool
		inactiveAt           = -1
		panicking, lastPanic bool
	)
	for s := 0; s < 400; s++ {
		now := t0.Add(time.Duration(s) * time.Second)
		f.follow(now, desired)
		obs := f.serve(arrivals(s))
		if s == 8 {
			obs.pushRate = 0.5 // the router sees the first request before any pod exists
		}
		ready := len(obs.pods)
		sample, err := st.step(now, obs)
		if err != nil {
			t.Fatalf("t=%ds: %v", s, err)
		}
		prev, desired = desired, int(sample.Value)
		panicking = st.kpa.panicking
		switch {
		case s < 8 && (desired != 0 || sample.Activity != 0):
			t.Fatalf("t=%ds: idle at zero, got %d replicas, activity %v", s, desired, sample.Activity)
		case s == 8 && (desired < 1 || sample.Activity <= 0):
			t.Fatalf("t=8s: a pushed request must wake the model at once; got %d replicas, activity %v", desired, sample.Activity)
		}
		if panicking {
			panicked = true
			if lastPanic && desired < prev {
				t.Fatalf("t=%ds: scaled down from %d to %d while panicking", s, prev, desired)
			}
		}
		lastPanic = panicking
		if desired < prev && ready > 0 && desired < int(math.Floor(float64(max(1, ready))/p.maxDownRate)) {
			t.Fatalf("t=%ds: %d -> %d with %d ready exceeds the scale-down rate", s, prev, desired, ready)
		}
		peak = max(peak, desired)
		if sample.Activity == 0 && s > lastTraffic && inactiveAt < 0 {
			inactiveAt = s
		}
		if inactiveAt >= 0 && sample.Activity > 0 {
			t.Fatalf("t=%ds: active again after going idle at %ds", s, inactiveAt)
		}
		wentIdle = wentIdle || (inactiveAt >= 0 && desired == 0)
	}
	if !panicked || peak < 14 {
		t.Errorf("burst of 200 req/s at 10 per replica: panicked %v, peak %d; want panic and >= 14", panicked, peak)
	}
	// Traffic is last seen while the panic window still holds the last
	// completed requests, a few seconds after the arrivals stop.
	seen := int(st.hold.last.Sub(t0) / time.Second)
	if seen < lastTraffic || seen > lastTraffic+int(p.panic/time.Second) {
		t.Errorf("traffic last seen at t=%ds; arrivals stopped at %ds", seen, lastTraffic)
	}
	if want := seen + int((p.stable+p.zeroGrace)/time.Second); inactiveAt != want {
		t.Errorf("inactive at t=%ds; want %ds (traffic last seen at %ds + stable 60 s + grace 30 s)", inactiveAt, want, seen)
	}
	if !wentIdle {
		t.Error("never reached zero replicas")
	}
}

// TestTraceActivationIsImmediate: at zero, any non-zero signal activates in
// the same step, and a new pod's first counter reading is no surge.
func TestTraceActivationIsImmediate(t *testing.T) {
	var sig signalSpec
	sig.targets[sigWaiting] = 5
	sig.metrics = [numSignals]string{"r", "w", "run", "kv"}
	st := newQueryState(kpaDefaults(), sig)
	idle := observation{}
	for s := range 5 {
		if smp, err := st.step(t0.Add(time.Duration(s)*time.Second), idle); err != nil || smp.Activity != 0 || smp.Value != 0 {
			t.Fatalf("idle: %+v, %v", smp, err)
		}
	}
	pod := podValues{name: "p", has: [numSignals]bool{true, true, true, true}}
	pod.values[sigRate] = 1e6 // a long history
	pod.values[sigWaiting] = 3
	smp, err := st.step(t0.Add(5*time.Second), observation{pods: []podValues{pod}})
	if err != nil || smp.Activity <= 0 || smp.Value != 1 {
		t.Fatalf("first waiting request: %+v, %v; want active with 1 replica", smp, err)
	}
	if r, _ := part(smp, "signal/waiting"); r.Value > 3 {
		t.Errorf("waiting %v", r.Value)
	}
}
