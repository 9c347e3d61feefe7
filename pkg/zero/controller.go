package zero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
)

// Event reasons, one per kind of write.
const (
	ReasonScaledFromZero = "TideScaledFromZero"
	ReasonScaledToZero   = "TideScaledToZero"
)

// Defaults for Config fields left zero. The lease timings are client-go's
// usual ones (kube-controller-manager uses the same): a new leader takes
// over at most LeaseDuration after a leader dies without releasing.
const (
	DefaultInterval      = 10 * time.Second
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
	DefaultTimeout       = 10 * time.Second
)

// Activity says whether a trigger has work now (e.g. lag > activation
// threshold). An error means "unknown", and the controller then writes
// nothing for that target.
type Activity interface {
	Active(ctx context.Context, trigger map[string]string) (bool, error)
}

// Explainer may be implemented by an Activity to say why, e.g.
// "lag 42 > activation 0"; the controller puts it in the Event message.
type Explainer interface {
	Explain(ctx context.Context, trigger map[string]string) (active bool, why string, err error)
}

// Target is one workload with minReplicas 0.
type Target struct {
	Ref
	// Triggers are the metadata of the workload's triggers. As in KEDA the
	// workload is active when any of them is; when none is and one failed,
	// activity is unknown.
	Triggers []map[string]string
	// Cooldown overrides Config.Cooldown when > 0.
	Cooldown time.Duration
}

// Config configures a Controller. LeaseName and LeaseNamespace are required.
type Config struct {
	LeaseName      string
	LeaseNamespace string
	// Identity is this candidate's holderIdentity; "" is the hostname
	// (the pod name in a cluster), unique per replica.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are the leader election
	// timings (defaults above). The Lease stores whole seconds, so
	// LeaseDuration must be at least 1s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Interval is how often every target is checked while leading.
	Interval time.Duration
	// Cooldown is how long a target at 1 replica must be inactive before it
	// goes to zero; 0 is DefaultCooldown.
	Cooldown time.Duration
	// Timeout bounds one target's check (activity, read, write); 0 is
	// DefaultTimeout.
	Timeout time.Duration
	// Recorder records the Events; nil records them through the clientset
	// as component "tide".
	Recorder record.EventRecorder
	// Now is the clock Decide runs on; nil is time.Now.
	Now func() time.Time
	// Logger receives a line per write and per failed check; nil discards.
	Logger *slog.Logger
}

// Controller moves targets between 0 and 1 replicas while it holds a
// coordination.k8s.io Lease, so that of several Tide replicas exactly one
// writes. Create it with New; it is safe for concurrent use.
type Controller struct {
	kc       kubernetes.Interface
	scales   ScaleClient
	activity Activity
	cfg      Config

	leading atomic.Bool

	mu      sync.Mutex
	targets []Target
	states  map[Ref]State
}

// New returns a Controller that takes the Lease through kc, reads and
// writes scales through scales, and asks activity about triggers.
func New(kc kubernetes.Interface, scales ScaleClient, activity Activity, cfg Config) (*Controller, error) {
	if cfg.LeaseName == "" || cfg.LeaseNamespace == "" {
		return nil, errors.New("zero: LeaseName and LeaseNamespace are required")
	}
	if cfg.Identity == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("zero: no Identity and no hostname: %w", err)
		}
		cfg.Identity = h
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.LeaseDuration, DefaultLeaseDuration)
	def(&cfg.RenewDeadline, DefaultRenewDeadline)
	def(&cfg.RetryPeriod, DefaultRetryPeriod)
	def(&cfg.Interval, DefaultInterval)
	def(&cfg.Cooldown, DefaultCooldown)
	def(&cfg.Timeout, DefaultTimeout)
	// The same checks client-go makes, early, plus the whole-seconds one it
	// does not make: a 0s lease is never valid, so every candidate would lead.
	switch {
	case cfg.LeaseDuration < time.Second:
		return nil, fmt.Errorf("zero: LeaseDuration %s < 1s", cfg.LeaseDuration)
	case cfg.LeaseDuration <= cfg.RenewDeadline:
		return nil, fmt.Errorf("zero: LeaseDuration %s must be greater than RenewDeadline %s", cfg.LeaseDuration, cfg.RenewDeadline)
	case float64(cfg.RenewDeadline) <= leaderelection.JitterFactor*float64(cfg.RetryPeriod):
		return nil, fmt.Errorf("zero: RenewDeadline %s must be greater than %.1f x RetryPeriod %s", cfg.RenewDeadline, leaderelection.JitterFactor, cfg.RetryPeriod)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{kc: kc, scales: scales, activity: activity, cfg: cfg, states: map[Ref]State{}}, nil
}

// SetTargets replaces the targets. The state (last activity) of a target
// that stays is kept; that of a dropped one is forgotten.
func (c *Controller) SetTargets(ts []Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets = append([]Target(nil), ts...)
	next := make(map[Ref]State, len(ts))
	for _, t := range ts {
		next[t.Ref] = c.states[t.Ref]
	}
	c.states = next
}

// Leading reports whether this Controller holds the Lease and checks
// targets now.
func (c *Controller) Leading() bool { return c.leading.Load() }

// Run campaigns for the Lease until ctx ends, checking targets every
// Interval while it leads. A leader that loses the Lease stops writing
// before it campaigns again; when ctx ends the Lease is released
// (ReleaseOnCancel), so another replica takes over within a RetryPeriod
// instead of a LeaseDuration. It returns nil when ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	rec := c.cfg.Recorder
	if rec == nil {
		b := record.NewBroadcaster(record.WithContext(ctx))
		b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.kc.CoreV1().Events("")})
		defer b.Shutdown()
		rec = b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "tide"})
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: c.cfg.LeaseNamespace, Name: c.cfg.LeaseName},
		Client:     c.kc.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: c.cfg.Identity},
	}
	for ctx.Err() == nil {
		tm := &term{}
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			Name:            c.cfg.LeaseName,
			LeaseDuration:   c.cfg.LeaseDuration,
			RenewDeadline:   c.cfg.RenewDeadline,
			RetryPeriod:     c.cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				// client-go starts this in a goroutine and does not wait
				// for it; term makes Run wait, so two terms never overlap.
				OnStartedLeading: func(lctx context.Context) {
					if !tm.enter() {
						return
					}
					defer tm.done()
					c.lead(lctx, rec)
				},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			return fmt.Errorf("zero: leader election: %w", err)
		}
		le.Run(ctx)
		tm.close()
	}
	return nil
}

// term tracks one leadership term's loop. A loop that client-go starts
// after the term ended (its goroutine was slow to be scheduled) does nothing.
type term struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (t *term) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *term) done() { t.wg.Done() }

func (t *term) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}

// lead checks every target each Interval until ctx (the term) ends.
func (c *Controller) lead(ctx context.Context, rec record.EventRecorder) {
	c.leading.Store(true)
	defer c.leading.Store(false)
	c.cfg.Logger.Info("scale-to-zero: leading", "lease", c.cfg.LeaseNamespace+"/"+c.cfg.LeaseName, "identity", c.cfg.Identity)
	defer c.cfg.Logger.Info("scale-to-zero: stopped leading", "identity", c.cfg.Identity)
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	for {
		c.syncAll(ctx, rec)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *Controller) syncAll(ctx context.Context, rec record.EventRecorder) {
	c.mu.Lock()
	ts := c.targets
	c.mu.Unlock()
	for _, t := range ts {
		if ctx.Err() != nil {
			return
		}
		c.syncTarget(ctx, t, rec)
	}
}

// syncTarget checks one target and writes its scale when Decide moves it
// between 0 and 1. It writes nothing when activity or the scale cannot be
// read, and nothing once ctx (the leadership term) has ended.
func (c *Controller) syncTarget(ctx context.Context, t Target, rec record.EventRecorder) {
	log := c.cfg.Logger.With("target", t.Ref.String())
	tctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	active, why, err := c.active(tctx, t.Triggers)
	if err != nil {
		log.Warn("scale-to-zero: activity unknown, replicas left alone", "err", err)
		return
	}
	s, err := c.scales.GetScale(tctx, t.Ref)
	if err != nil {
		log.Warn("scale-to-zero: cannot read scale", "err", err)
		return
	}
	cooldown := c.cfg.Cooldown
	if t.Cooldown > 0 {
		cooldown = t.Cooldown
	}
	c.mu.Lock()
	st, ok := c.states[t.Ref]
	c.mu.Unlock()
	if !ok {
		return // dropped by SetTargets meanwhile
	}
	desired, next, reason := Decide(c.cfg.Now(), st, active, s.Replicas, cooldown)
	c.mu.Lock()
	if _, ok := c.states[t.Ref]; ok {
		c.states[t.Ref] = next
	}
	c.mu.Unlock()
	if desired == s.Replicas || tctx.Err() != nil {
		return
	}
	msg := fmt.Sprintf("scaled from %d to %d: %s", s.Replicas, desired, reason)
	if why != "" {
		msg += " (" + why + ")"
	}
	if err := c.scales.UpdateScale(tctx, t.Ref, Scale{Replicas: desired, UID: s.UID, ResourceVersion: s.ResourceVersion}); err != nil {
		log.Warn("scale-to-zero: write failed", "from", s.Replicas, "to", desired, "err", err)
		return
	}
	event := ReasonScaledToZero
	if desired > 0 {
		event = ReasonScaledFromZero
	}
	rec.Event(&corev1.ObjectReference{APIVersion: t.APIVersion, Kind: t.Kind, Namespace: t.Namespace, Name: t.Name, UID: s.UID},
		corev1.EventTypeNormal, event, msg)
	log.Info("scale-to-zero: "+msg, "from", s.Replicas, "to", desired)
}

// active is true when any trigger is active. With none active, an error
// from any makes the answer unknown: a trigger that cannot be read may
// have work, so the workload must not go to zero on its account.
func (c *Controller) active(ctx context.Context, triggers []map[string]string) (bool, string, error) {
	if len(triggers) == 0 {
		return false, "", errors.New("no triggers")
	}
	var whys []string
	var errs []error
	for i, tr := range triggers {
		var (
			a   bool
			why string
			err error
		)
		if ex, ok := c.activity.(Explainer); ok {
			a, why, err = ex.Explain(ctx, tr)
		} else {
			a, err = c.activity.Active(ctx, tr)
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("trigger %d: %w", i, err))
		case a:
			return true, why, nil
		case why != "":
			whys = append(whys, why)
		}
	}
	if len(errs) > 0 {
		return false, "", errors.Join(errs...)
	}
	return false, strings.Join(whys, "; "), nil
}
