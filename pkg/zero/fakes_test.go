package zero

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tide-scaler/tide/internal/testclock"
)

// scales is a fake API server's scale subresource for Deployments: the
// dynamic fake's tracker has no subresources, so reactors answer GET and
// PUT deployments/scale, with resourceVersion conflicts as the server does.
type scales struct {
	mu       sync.Mutex
	replicas map[string]int32
	rv       map[string]int
}

func (s *scales) get(name string) int32 { s.mu.Lock(); defer s.mu.Unlock(); return s.replicas[name] }

// set moves a target as the HPA or a user would, bumping resourceVersion.
func (s *scales) set(name string, n int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replicas[name] = n
	s.rv[name]++
}

func newDynamic(s *scales) *dynamicfake.FakeDynamicClient {
	dc := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	dc.PrependReactor("get", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		name := a.(k8stesting.GetAction).GetName()
		s.mu.Lock()
		defer s.mu.Unlock()
		n, ok := s.replicas[name]
		if !ok {
			return true, nil, apierrors.NewNotFound(gr, name)
		}
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "autoscaling/v1", "kind": "Scale",
			"spec": map[string]any{"replicas": int64(n)},
		}}
		u.SetNamespace(a.GetNamespace())
		u.SetName(name)
		u.SetUID(types.UID("uid-" + name))
		u.SetResourceVersion(strconv.Itoa(s.rv[name]))
		return true, u, nil
	})
	dc.PrependReactor("update", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "scale" {
			return false, nil, nil
		}
		u := a.(k8stesting.UpdateAction).GetObject().(*unstructured.Unstructured)
		n, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
		s.mu.Lock()
		defer s.mu.Unlock()
		name := u.GetName()
		if rv := u.GetResourceVersion(); rv != "" && rv != strconv.Itoa(s.rv[name]) {
			return true, nil, apierrors.NewConflict(gr, name, errors.New("the object has been modified"))
		}
		s.replicas[name] = int32(n)
		s.rv[name]++
		return true, u, nil
	})
	return dc
}

func newMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper([]schema.GroupVersion{{Group: "apps", Version: "v1"}})
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	return m
}

// counting counts one Controller's writes, so that two Controllers on one
// fake API server can be told apart.
type counting struct {
	ScaleClient
	mu     sync.Mutex
	writes []int32
}

func (c *counting) UpdateScale(ctx context.Context, ref Ref, s Scale) error {
	err := c.ScaleClient.UpdateScale(ctx, ref, s)
	if err == nil {
		c.mu.Lock()
		c.writes = append(c.writes, s.Replicas)
		c.mu.Unlock()
	}
	return err
}

func (c *counting) Writes() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int32(nil), c.writes...)
}

// activity answers by the trigger's "topic": active with a reason, or an error.
type activity struct {
	mu     sync.Mutex
	lag    map[string]int
	err    map[string]error
	called int
}

func (a *activity) Active(ctx context.Context, tr map[string]string) (bool, error) {
	ok, _, err := a.Explain(ctx, tr)
	return ok, err
}

func (a *activity) Explain(_ context.Context, tr map[string]string) (bool, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.called++
	if err := a.err[tr["topic"]]; err != nil {
		return false, "", err
	}
	lag := a.lag[tr["topic"]]
	if lag > 0 {
		return true, "lag " + strconv.Itoa(lag) + " > activation 0", nil
	}
	return false, "lag " + strconv.Itoa(lag) + " <= activation 0", nil
}

func (a *activity) set(topic string, lag int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lag[topic], a.err[topic] = lag, err
}

func (a *activity) calls() int { a.mu.Lock(); defer a.mu.Unlock(); return a.called }

// waitFor polls cond in a bounded loop: the controller runs on real
// goroutines and tickers, so tests wait for what they expect, never for a
// fixed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type rig struct {
	kc     *kubefake.Clientset
	scales *scales
	dc     *dynamicfake.FakeDynamicClient
	act    *activity
	clock  *testclock.Clock
}

func newRig(replicas map[string]int32) *rig {
	s := &scales{replicas: replicas, rv: map[string]int{}}
	return &rig{
		kc: kubefake.NewClientset(), scales: s, dc: newDynamic(s),
		act:   &activity{lag: map[string]int{}, err: map[string]error{}},
		clock: testclock.New(t0),
	}
}

func target(name string, topics ...string) Target {
	t := Target{Ref: Ref{Namespace: "team", APIVersion: "apps/v1", Kind: "Deployment", Name: name}}
	for _, tp := range topics {
		t.Triggers = append(t.Triggers, map[string]string{"source": "kafka", "topic": tp})
	}
	return t
}

// controller returns a Controller with test timings and its write counter.
func (r *rig) controller(t *testing.T, id string, ts ...Target) (*Controller, *counting) {
	t.Helper()
	sc := &counting{ScaleClient: NewDynamicScales(r.dc, newMapper())}
	c, err := New(r.kc, sc, r.act, Config{
		LeaseName: "tide-zero", LeaseNamespace: "tide-system", Identity: id,
		LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 50 * time.Millisecond,
		Interval: 10 * time.Millisecond, Cooldown: 5 * time.Minute, Now: r.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetTargets(ts)
	return c, sc
}

// start runs c until the test ends (or stop is called) and waits for Run
// to return, so no goroutine outlives the test.
func start(t *testing.T, c *Controller) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func (r *rig) events(t *testing.T) []corev1.Event {
	t.Helper()
	l, err := r.kc.CoreV1().Events("team").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

func (r *rig) waitEvent(t *testing.T, reason string) corev1.Event {
	t.Helper()
	var ev corev1.Event
	waitFor(t, "Event "+reason, func() bool {
		for _, e := range r.events(t) {
			if e.Reason == reason {
				ev = e
				return true
			}
		}
		return false
	})
	return ev
}

// recorder is a record.EventRecorder for tests that call syncAll directly.
type recorder struct{ events []string }

func (r *recorder) Event(_ runtime.Object, _, reason, msg string) {
	r.events = append(r.events, reason+": "+msg)
}
func (r *recorder) Eventf(o runtime.Object, t, reason, f string, args ...any) {}
func (r *recorder) AnnotatedEventf(o runtime.Object, _ map[string]string, t, reason, f string, args ...any) {
}
