package zero

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/pkg/scale"
)

// scales is a fake scale subresource, with resourceVersion conflicts as
// the API server has them. beforeGet and beforeUpdate, when set, run at
// the start of each call (to move the target meanwhile, or end the term).
type scales struct {
	mu           sync.Mutex
	replicas     map[string]int32
	rv           map[string]int
	writes       []int32
	beforeGet    func()
	beforeUpdate func()
}

var _ scale.Client = (*scales)(nil)

func newScales(replicas map[string]int32) *scales {
	return &scales{replicas: replicas, rv: map[string]int{}}
}

func (s *scales) GetScale(_ context.Context, t scale.Target) (scale.Scale, error) {
	if s.beforeGet != nil {
		s.beforeGet()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.replicas[t.Name]
	if !ok {
		return scale.Scale{}, apierrors.NewNotFound(schema.GroupResource{Group: "apps", Resource: "deployments"}, t.Name)
	}
	return scale.Scale{Replicas: n, UID: types.UID("uid-" + t.Name), ResourceVersion: strconv.Itoa(s.rv[t.Name])}, nil
}

// UpdateScale ignores ctx, as a fake or a slow client may: the controller
// must not rely on it to stop a write.
func (s *scales) UpdateScale(_ context.Context, t scale.Target, sc scale.Scale) error {
	if s.beforeUpdate != nil {
		s.beforeUpdate()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.ResourceVersion != "" && sc.ResourceVersion != strconv.Itoa(s.rv[t.Name]) {
		return apierrors.NewConflict(schema.GroupResource{Group: "apps", Resource: "deployments"}, t.Name, errors.New("the object has been modified"))
	}
	s.replicas[t.Name] = sc.Replicas
	s.rv[t.Name]++
	s.writes = append(s.writes, sc.Replicas)
	return nil
}

func (s *scales) get(name string) int32 { s.mu.Lock(); defer s.mu.Unlock(); return s.replicas[name] }

// set moves a target as the HPA or a user would, bumping resourceVersion.
func (s *scales) set(name string, n int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replicas[name] = n
	s.rv[name]++
}

func (s *scales) Writes() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int32(nil), s.writes...)
}

// lags is the demand of each topic; a topic's trigger reads it.
type lags struct {
	mu  sync.Mutex
	lag map[string]int
	err map[string]error
}

type topicTrigger struct {
	l     *lags
	topic string
}

func (t topicTrigger) Activity(context.Context) (bool, string, error) {
	t.l.mu.Lock()
	defer t.l.mu.Unlock()
	if err := t.l.err[t.topic]; err != nil {
		return false, "", err
	}
	lag := t.l.lag[t.topic]
	if lag > 0 {
		return true, "lag " + strconv.Itoa(lag) + " > activation 0", nil
	}
	return false, "lag " + strconv.Itoa(lag) + " <= activation 0", nil
}

func (l *lags) set(topic string, lag int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lag[topic], l.err[topic] = lag, err
}

// event is one recorded Event.
type event struct {
	obj                  runtime.Object
	typ, reason, message string
}

// recorder is a record.EventRecorder that keeps what it is told.
type recorder struct {
	mu     sync.Mutex
	events []event
}

func (r *recorder) Event(o runtime.Object, typ, reason, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, event{o, typ, reason, msg})
}
func (r *recorder) Eventf(o runtime.Object, typ, reason, f string, args ...any) {}
func (r *recorder) AnnotatedEventf(o runtime.Object, _ map[string]string, typ, reason, f string, args ...any) {
}

func (r *recorder) all() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

type rig struct {
	scales *scales
	lags   *lags
	rec    *recorder
	clock  *testclock.Clock
}

func newRig(replicas map[string]int32) *rig {
	return &rig{scales: newScales(replicas), lags: &lags{lag: map[string]int{}, err: map[string]error{}},
		rec: &recorder{}, clock: testclock.New(t0)}
}

func (r *rig) target(name string, topics ...string) Target {
	t := Target{Target: scale.Target{Namespace: "team", APIVersion: "apps/v1", Kind: "Deployment", Name: name}}
	for _, tp := range topics {
		t.Triggers = append(t.Triggers, topicTrigger{r.lags, tp})
	}
	return t
}

func (r *rig) controller(ts ...Target) *Controller {
	c, err := New(r.scales, Config{Cooldown: 5 * time.Minute, Recorder: r.rec, Now: r.clock.Now})
	if err != nil {
		panic(err)
	}
	c.SetTargets(ts)
	return c
}
