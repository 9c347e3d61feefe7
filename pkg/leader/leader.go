package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Defaults for Config fields left zero: client-go's usual timings (the
// kube-controller-manager's). A new leader takes over at most
// LeaseDuration after a leader dies without releasing.
const (
	DefaultLeaseDuration = 15 * time.Second
	DefaultRenewDeadline = 10 * time.Second
	DefaultRetryPeriod   = 2 * time.Second
)

// Config configures Run. LeaseName and LeaseNamespace are required.
type Config struct {
	LeaseName, LeaseNamespace string
	// Identity is this candidate's holderIdentity; "" is the host name
	// (the pod name in a cluster), unique per replica.
	Identity string
	// LeaseDuration, RenewDeadline and RetryPeriod are the election
	// timings (defaults above). The Lease stores whole seconds, so
	// LeaseDuration must be at least 1s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// Logger receives a line when a term starts and ends; nil discards.
	Logger *slog.Logger
}

// Validate fills the defaults and checks the timings: client-go's own
// checks, made early, plus the whole-seconds one it does not make (a 0s
// lease is never valid, so every candidate would lead).
func (c *Config) Validate() error {
	if c.LeaseName == "" || c.LeaseNamespace == "" {
		return errors.New("leader: LeaseName and LeaseNamespace are required")
	}
	if c.Identity == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("leader: no Identity and no host name: %w", err)
		}
		c.Identity = h
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.LeaseDuration, DefaultLeaseDuration)
	def(&c.RenewDeadline, DefaultRenewDeadline)
	def(&c.RetryPeriod, DefaultRetryPeriod)
	switch {
	case c.LeaseDuration < time.Second:
		return fmt.Errorf("leader: LeaseDuration %s < 1s", c.LeaseDuration)
	case c.LeaseDuration <= c.RenewDeadline:
		return fmt.Errorf("leader: LeaseDuration %s must be greater than RenewDeadline %s", c.LeaseDuration, c.RenewDeadline)
	case float64(c.RenewDeadline) <= leaderelection.JitterFactor*float64(c.RetryPeriod):
		return fmt.Errorf("leader: RenewDeadline %s must be greater than %.1f x RetryPeriod %s", c.RenewDeadline, leaderelection.JitterFactor, c.RetryPeriod)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Run campaigns for the Lease through kc until ctx ends and calls lead
// once per leadership term, with a context cancelled when the term ends.
// lead should return soon after its context is done: the next campaign
// waits for it. Run returns nil when ctx ends, and an error only for an
// invalid cfg.
func Run(ctx context.Context, kc kubernetes.Interface, cfg Config, lead func(term context.Context)) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.LeaseNamespace, Name: cfg.LeaseName},
		Client:     kc.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	log := cfg.Logger.With("lease", cfg.LeaseNamespace+"/"+cfg.LeaseName, "identity", cfg.Identity)
	for ctx.Err() == nil {
		tm := &term{}
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			Name:            cfg.LeaseName,
			LeaseDuration:   cfg.LeaseDuration,
			RenewDeadline:   cfg.RenewDeadline,
			RetryPeriod:     cfg.RetryPeriod,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				// client-go starts this in a goroutine and does not wait
				// for it; term makes Run wait, so two terms never overlap.
				OnStartedLeading: func(tctx context.Context) {
					if !tm.enter() {
						return
					}
					defer tm.done()
					log.Info("leading")
					defer log.Info("stopped leading")
					lead(tctx)
				},
				OnStoppedLeading: func() {},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx)
		tm.close()
	}
	return nil
}

// term tracks one leadership term's function. One that client-go starts
// after the term ended (its goroutine was slow to be scheduled) does
// nothing.
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
