package standalone

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/workload"
)

// hintRig is one entry with node hints (and minReplicas 1, so that only
// headroom writes), its demand, a fake cluster and an in-memory scale.
type hintRig struct {
	rd  *testqueue.Reader
	c   *cluster
	sc  *scales
	r   *runner
	cfg func() *workload.Config
	now time.Time
}

func newHintRig(t *testing.T) *hintRig {
	t.Helper()
	h := &hintRig{rd: testqueue.NewReader(), c: newCluster(map[string]int32{"orders": 1}), sc: &scales{replicas: map[string]int32{"orders": 1}}, now: t0}
	f, cache := open(t, h.rd, strings.Replace(strings.Replace(ordersYAML, "METADATA", "", 1), "minReplicas: 0", "minReplicas: 1", 1)+"  nodeLeadTime: 1m\n")
	h.cfg = f.Current
	var err error
	h.r, err = newRunner(Options{Workloads: func() *workload.Config { return h.cfg() }, Cache: cache,
		Kube: h.c.kc, Dynamic: h.c.dc, Mapper: h.c.mapper, Now: func() time.Time { return h.now }}, h.sc, &recorder{})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// observe is what every replica does each Interval.
func (h *hintRig) observe(t *testing.T, demand float64) {
	h.now = h.now.Add(5 * time.Second)
	h.rd.SetDemand("orders", h.now, demand)
	h.r.observe(t.Context())
}

func (h *hintRig) balloons(t *testing.T) int32 {
	t.Helper()
	d, err := h.c.kc.AppsV1().Deployments("shop").Get(t.Context(), "orders-tide-balloon", metav1.GetOptions{})
	if err != nil {
		return -1
	}
	return *d.Spec.Replicas
}

func TestHeadroomIsObservedByAllAndWrittenInATerm(t *testing.T) {
	h := newHintRig(t)
	h.observe(t, 20) // 4 replicas of demand, 1 running
	if n := writes(h.c.kc, h.c.dc); n != 0 {
		t.Fatalf("observing wrote %d times", n)
	}
	h.r.step(t.Context())
	if b := h.balloons(t); b != 3 {
		t.Fatalf("balloons %d, want 3", b)
	}

	// Demand unknown: the headroom is left as it is, never shrunk.
	h.rd.Fail("orders", errors.New("broker down"))
	h.r.observe(t.Context())
	h.sc.replicas["orders"] = 4
	h.r.step(t.Context())
	if b := h.balloons(t); b != 3 {
		t.Errorf("balloons %d after a failed read, want 3 kept", b)
	}
	h.observe(t, 20)
	h.r.step(t.Context())
	if b := h.balloons(t); b != -1 {
		t.Errorf("balloons %d with the workload caught up, want none", b)
	}

	// The entry goes: what the term wrote goes too.
	h.sc.replicas["orders"] = 1
	h.r.step(t.Context())
	if b := h.balloons(t); b != 3 {
		t.Fatalf("balloons %d, want 3 again", b)
	}
	h.cfg = func() *workload.Config { return &workload.Config{} }
	h.r.observe(t.Context())
	h.r.step(t.Context())
	if b := h.balloons(t); b != -1 {
		t.Errorf("balloons %d after the entry went, want none", b)
	}
}

// TestNoHeadroomWriteAfterTheTermEnds: leadership is lost after the
// decision's read (the target's scale; the fakes ignore contexts, as a
// client may): no CapacityBuffer, balloon or PriorityClass is written,
// and nothing is deleted for a gone entry either.
func TestNoHeadroomWriteAfterTheTermEnds(t *testing.T) {
	h := newHintRig(t)
	h.observe(t, 20)
	term, lose := context.WithCancel(t.Context())
	h.sc.beforeGet = lose
	h.r.step(term)
	if n := writes(h.c.kc, h.c.dc); n != 0 {
		t.Fatalf("%d writes after the term ended; want none", n)
	}

	// The same step in a live term writes (the rig is not silent anyway).
	h.sc.beforeGet = nil
	h.r.step(t.Context())
	if b := h.balloons(t); b != 3 {
		t.Fatalf("balloons %d in a live term, want 3", b)
	}

	// Removing a gone entry's balloon: the term ends at the writer's read.
	before := writes(h.c.kc, h.c.dc)
	h.cfg = func() *workload.Config { return &workload.Config{} }
	term, lose = context.WithCancel(t.Context())
	h.c.kc.PrependReactor("get", "deployments", func(k8stesting.Action) (bool, runtime.Object, error) { lose(); return false, nil, nil })
	h.r.step(term)
	if n := writes(h.c.kc, h.c.dc) - before; n != 0 || h.balloons(t) != 3 {
		t.Errorf("%d writes, balloons %d after the term ended; want none and 3 kept", n, h.balloons(t))
	}
}
