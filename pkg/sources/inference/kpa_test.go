package inference

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0)

func kpaDefaults() windowParams {
	return windowParams{stable: 60 * time.Second, panic: 6 * time.Second, panicThreshold: 2,
		maxUpRate: 1000, maxDownRate: 2, zeroGrace: 30 * time.Second}
}

func one(stable, panic, target float64) []load {
	return []load{{name: "requestRate", stable: stable, panic: panic, target: target}}
}

// TestDecideKnativeVectors runs the KPA vectors from the reference (target
// 10) through decide, each step against the state the previous one left.
func TestDecideKnativeVectors(t *testing.T) {
	rates := func(up, down float64) windowParams {
		p := kpaDefaults()
		p.maxUpRate, p.maxDownRate = up, down
		return p
	}
	type step struct {
		stable, panic float64
		ready         int
		want          int
		panicking     bool
	}
	tests := []struct {
		name  string
		p     windowParams
		steps []step
	}{
		{"stable 50, ready 1 -> 5", kpaDefaults(), []step{{50, 50, 1, 5, true}}},
		{"stable 50, ready 1, quiet panic window -> 5", kpaDefaults(), []step{{50, 10, 1, 5, false}}},
		{"stable 50, panic 100, ready 1 -> panic, 10", kpaDefaults(), []step{{50, 100, 1, 10, true}}},
		{"max up rate 10: stable 1000, ready 1 -> 10, then ready 10 -> 100", rates(10, 10),
			[]step{{1000, 1000, 1, 10, true}, {1000, 1000, 10, 100, true}}},
		{"max down rate 10: stable 1, ready 100 -> 10", rates(10, 10), []step{{1, 1, 100, 10, false}}},
		{"default down rate halves", kpaDefaults(), []step{{0, 0, 8, 4, false}, {0, 0, 4, 2, false}, {0, 0, 2, 1, false}, {0, 0, 1, 0, false}}},
		{"exact multiple of the target", kpaDefaults(), []step{{30, 30, 3, 3, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &kpaState{started: true} // not fresh: the vectors start from a running autoscaler
			now := t0
			for i, s := range tt.steps {
				d := decide(now, tt.p, st, kpaInput{ready: s.ready, loads: one(s.stable, s.panic, 10)})
				if d.desired != s.want || d.panicking != s.panicking {
					t.Errorf("step %d: decide = %d (panic %v, %s); want %d (panic %v)", i, d.desired, d.panicking, d.rule, s.want, s.panicking)
				}
				now = now.Add(2 * time.Second)
			}
		})
	}
}

func TestDecidePanic(t *testing.T) {
	p := kpaDefaults()
	st := &kpaState{started: true}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		sec           int
		stable, panic float64
		ready         int
		want          int
		panicking     bool
		rule          string
	}{
		{0, 10, 10, 1, 1, false, "stable window"},
		{2, 12, 60, 1, 6, true, "panic: never scale down"}, // 6 replicas / 1 ready >= 200 %
		{4, 14, 20, 6, 6, true, "panic: never scale down"}, // panic load fell: held at 6
		{30, 15, 15, 6, 6, true, "panic: never scale down"},
		{61, 15, 15, 6, 6, true, "panic: never scale down"}, // 59 s since the last crossing
		{62, 15, 15, 6, 3, false, "stable window"},          // a full stable window below: leave panic
		{64, 15, 15, 3, 2, false, "stable window"},
	}
	for _, s := range steps {
		d := decide(at(s.sec), p, st, kpaInput{ready: s.ready, loads: one(s.stable, s.panic, 10)})
		if d.desired != s.want || d.panicking != s.panicking || !strings.HasPrefix(d.rule, s.rule) {
			t.Errorf("t=%ds: decide = %d (panic %v, %q); want %d (panic %v, %q)", s.sec, d.desired, d.panicking, d.rule, s.want, s.panicking, s.rule)
		}
	}
}

func TestDecideRules(t *testing.T) {
	tests := []struct {
		name  string
		st    kpaState
		p     func(*windowParams)
		steps []kpaInput
		want  []int
		rule  string // of the last step
	}{
		{"fresh with several ready pods starts in panic and holds them", kpaState{}, nil,
			[]kpaInput{{ready: 5, loads: one(0, 0, 10)}}, []int{5}, "panic: never scale down"},
		{"fresh with one ready pod does not panic", kpaState{}, nil,
			[]kpaInput{{ready: 1, loads: one(0, 0, 10)}}, []int{0}, "stable window"},
		{"max over signals", kpaState{started: true}, nil,
			[]kpaInput{{ready: 4, loads: []load{{"requestRate", 20, 20, 10}, {"waiting", 12, 12, 4}}}}, []int{3}, "stable window"},
		{"anti-flap: recent load must fit", kpaState{started: true}, nil,
			[]kpaInput{{ready: 4, loads: one(20, 35, 10)}}, []int{4}, "anti-flap"},
		{"hold down on partial data", kpaState{started: true, last: 6}, nil,
			[]kpaInput{{ready: 6, loads: one(10, 10, 10), holdDown: true}}, []int{6}, "scale-down held"},
		{"partial data still scales up", kpaState{started: true, last: 2}, nil,
			[]kpaInput{{ready: 2, loads: one(30, 30, 10), holdDown: true}}, []int{3}, "stable window"},
		{"scale-down delay keeps the maximum", kpaState{started: true},
			func(p *windowParams) { p.scaleDownDelay = 5 * time.Second },
			[]kpaInput{{ready: 4, loads: one(40, 40, 10)}, {ready: 4, loads: one(10, 10, 10)}, {ready: 4, loads: one(10, 10, 10)}, {ready: 4, loads: one(10, 10, 10)}},
			[]int{4, 4, 4, 2}, "stable window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := kpaDefaults()
			if tt.p != nil {
				tt.p(&p)
			}
			st := tt.st
			var d decision
			for i, in := range tt.steps {
				d = decide(t0.Add(time.Duration(2*i)*time.Second), p, &st, in)
				if d.desired != tt.want[i] {
					t.Errorf("step %d: decide = %d (%s); want %d", i, d.desired, d.rule, tt.want[i])
				}
			}
			if !strings.HasPrefix(d.rule, tt.rule) {
				t.Errorf("rule %q; want %q", d.rule, tt.rule)
			}
		})
	}
}

func TestReplicasFor(t *testing.T) {
	tests := []struct {
		total, target float64
		want          int
	}{{0, 10, 0}, {1, 10, 1}, {10, 10, 1}, {10.0000001, 10, 2}, {0.1 + 0.2, 0.1, 3}, {-5, 10, 0}, {5, 0, 0}, {1e300, 1e-300, 1<<31 - 1}}
	for _, tt := range tests {
		if got := replicasFor(tt.total, tt.target); got != tt.want {
			t.Errorf("replicasFor(%v, %v) = %d, want %d", tt.total, tt.target, got, tt.want)
		}
	}
}
