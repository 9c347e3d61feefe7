package zero

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/tide-scaler/tide/pkg/scale"
)

// Event reasons, one per kind of write.
const (
	ReasonScaledFromZero = "TideScaledFromZero"
	ReasonScaledToZero   = "TideScaledToZero"
)

// DefaultTimeout bounds one target's check when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Trigger says whether one of a workload's triggers has work now. An error
// means "unknown", and then nothing is written for the target. why, when
// not empty, explains the answer in the Event message, e.g.
// "lag 42 > activation 0".
type Trigger interface {
	Activity(ctx context.Context) (active bool, why string, err error)
}

// Target is one workload with minReplicas 0.
type Target struct {
	scale.Target
	// Triggers are the workload's triggers. As in KEDA the workload is
	// active when any of them is; when none is and one failed, activity is
	// unknown.
	Triggers []Trigger
	// Cooldown overrides Config.Cooldown when > 0.
	Cooldown time.Duration
}

// Config configures a Controller. Recorder is required.
type Config struct {
	// Cooldown is how long a target at 1 replica must be inactive before it
	// goes to zero; 0 is DefaultCooldown.
	Cooldown time.Duration
	// Timeout bounds one target's check (activity, read, write); 0 is
	// DefaultTimeout.
	Timeout time.Duration
	// Recorder records an Event on the target for each write.
	Recorder record.EventRecorder
	// Now is the clock Decide runs on; nil is time.Now.
	Now func() time.Time
	// Logger receives a line per write and per failed check; nil discards.
	Logger *slog.Logger
}

// Controller moves targets between 0 and 1 replicas, one Sync at a time.
// It does not elect a leader: the caller runs Sync only inside its
// leadership term (pkg/leader) and passes the term's context. It is safe
// for concurrent use.
type Controller struct {
	scales scale.Client
	cfg    Config

	mu      sync.Mutex
	targets []Target
	states  map[scale.Target]State
}

// New returns a Controller that reads and writes scales through scales.
func New(scales scale.Client, cfg Config) (*Controller, error) {
	if scales == nil || cfg.Recorder == nil {
		return nil, errors.New("zero: a scale client and Config.Recorder are required")
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = DefaultCooldown
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Controller{scales: scales, cfg: cfg, states: map[scale.Target]State{}}, nil
}

// SetTargets replaces the targets. The state (last activity) of a target
// that stays is kept; that of a dropped one is forgotten.
func (c *Controller) SetTargets(ts []Target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.targets = append([]Target(nil), ts...)
	next := make(map[scale.Target]State, len(ts))
	for _, t := range ts {
		next[t.Target] = c.states[t.Target]
	}
	c.states = next
}

// Forget drops every target's state. Call it when a leadership term
// starts: what this replica saw before its term may be older than what
// the previous leader saw, and a stale "last active" would hasten a scale
// to zero. After Forget a target's cooldown starts at its first check.
func (c *Controller) Forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range c.states {
		c.states[t] = State{}
	}
}

// Sync checks every target once and writes the scale of those Decide moves
// between 0 and 1. term is the leadership term: nothing is written once it
// has ended.
func (c *Controller) Sync(term context.Context) {
	c.mu.Lock()
	ts := c.targets
	c.mu.Unlock()
	for _, t := range ts {
		if term.Err() != nil {
			return
		}
		c.syncTarget(term, t)
	}
}

// syncTarget writes nothing when activity or the scale cannot be read, and
// nothing once term has ended: it is checked right before the write, since
// a client need not honour a cancelled context.
func (c *Controller) syncTarget(term context.Context, t Target) {
	log := c.cfg.Logger.With("target", t.String())
	ctx, cancel := context.WithTimeout(term, c.cfg.Timeout)
	defer cancel()
	active, why, err := activity(ctx, t.Triggers)
	if err != nil {
		log.Warn("scale-to-zero: activity unknown, replicas left alone", "err", err)
		return
	}
	s, err := c.scales.GetScale(ctx, t.Target)
	if err != nil {
		log.Warn("scale-to-zero: cannot read scale", "err", err)
		return
	}
	cooldown := c.cfg.Cooldown
	if t.Cooldown > 0 {
		cooldown = t.Cooldown
	}
	c.mu.Lock()
	st, ok := c.states[t.Target]
	var desired int32
	var reason string
	if ok { // else dropped by SetTargets meanwhile
		desired, c.states[t.Target], reason = Decide(c.cfg.Now(), st, active, s.Replicas, cooldown)
	}
	c.mu.Unlock()
	if !ok || desired == s.Replicas || ctx.Err() != nil {
		return
	}
	msg := fmt.Sprintf("scaled from %d to %d: %s", s.Replicas, desired, reason)
	if why != "" {
		msg += " (" + why + ")"
	}
	if err := c.scales.UpdateScale(ctx, t.Target, scale.Scale{Replicas: desired, UID: s.UID, ResourceVersion: s.ResourceVersion}); err != nil {
		log.Warn("scale-to-zero: write failed", "from", s.Replicas, "to", desired, "err", err)
		return
	}
	event := ReasonScaledToZero
	if desired > 0 {
		event = ReasonScaledFromZero
	}
	c.cfg.Recorder.Event(&corev1.ObjectReference{APIVersion: t.APIVersion, Kind: t.Kind, Namespace: t.Namespace, Name: t.Name, UID: s.UID},
		corev1.EventTypeNormal, event, msg)
	log.Info("scale-to-zero: "+msg, "from", s.Replicas, "to", desired)
}

// activity is true when any trigger is active. With none active, an error
// from any makes the answer unknown: a trigger that cannot be read may
// have work, so the workload must not go to zero on its account.
func activity(ctx context.Context, triggers []Trigger) (bool, string, error) {
	if len(triggers) == 0 {
		return false, "", errors.New("no triggers")
	}
	var whys []string
	var errs []error
	for i, tr := range triggers {
		switch a, why, err := tr.Activity(ctx); {
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
