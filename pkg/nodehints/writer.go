package nodehints

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tide-scaler/tide/pkg/scale"
)

// CapacityBufferGVK is the cluster-autoscaler API the writer prefers.
var CapacityBufferGVK = schema.GroupVersionKind{Group: "autoscaling.x-k8s.io", Version: "v1beta1", Kind: "CapacityBuffer"}

// Labels on every object the writer owns. The writer never modifies or
// deletes an object without LabelManagedBy=ManagedBy, so a user's object
// that happens to have the same name is safe.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "tide"
	LabelTarget    = "tide.dev/target"
)

// Name suffixes of the owned objects: <target><suffix>.
const (
	BufferSuffix  = "-tide-buffer"
	BalloonSuffix = "-tide-balloon"
)

// DefaultRecheckInterval is how often a writer without the CapacityBuffer
// API asks discovery again (by resetting a resettable RESTMapper), so that
// installing the CRD takes effect without a restart.
const DefaultRecheckInterval = 10 * time.Minute

// Mode is how a writer keeps headroom.
type Mode int

const (
	// ModeBalloon keeps a Deployment of low-priority pause pods.
	ModeBalloon Mode = iota + 1
	// ModeCapacityBuffer keeps a CapacityBuffer; the node autoscaler
	// simulates the pods, so nothing runs and nothing is preempted.
	ModeCapacityBuffer
)

func (m Mode) String() string {
	switch m {
	case ModeBalloon:
		return "balloon"
	case ModeCapacityBuffer:
		return "CapacityBuffer"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// norm makes a target without a kind an apps/v1 Deployment.
// CapacityBuffers take any kind with a scale subresource; balloons need a
// Deployment or StatefulSet, whose pod template they copy.
func norm(t scale.Target) scale.Target {
	if t.Kind == "" {
		t.Kind, t.APIVersion = "Deployment", "apps/v1"
	}
	return t
}

// live is checked right before every write: nothing may be written once
// the caller's context (its leadership term) has ended, whether or not the
// client honours a cancelled context.
func live(ctx context.Context) error { return ctx.Err() }

// Options tune a Writer. The zero value is usable.
type Options struct {
	// PauseImage is the balloon pods' image; "" is DefaultPauseImage.
	PauseImage string
	// RecheckInterval: see DefaultRecheckInterval.
	RecheckInterval time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Logger receives a line per object created, updated or deleted.
	Logger *slog.Logger
}

// Writer keeps, per target, the headroom the caller computed (Headroom of
// Predict's result and the current replicas) in front of the node
// autoscaler. It is safe for concurrent use; calls for one target should
// not overlap.
type Writer struct {
	kc     kubernetes.Interface
	dc     dynamic.Interface
	mapper meta.RESTMapper
	opts   Options

	mu        sync.Mutex
	lastReset time.Time
	modes     map[scale.Target]Mode // mode of each target's last successful Sync
	pcChecked time.Time
}

// NewWriter returns a Writer using kc for Deployments and PriorityClasses,
// dc for CapacityBuffers, and mapper to tell whether the CapacityBuffer
// API is served (in a cluster, a DeferredDiscoveryRESTMapper).
func NewWriter(kc kubernetes.Interface, dc dynamic.Interface, mapper meta.RESTMapper, opts Options) *Writer {
	if opts.PauseImage == "" {
		opts.PauseImage = DefaultPauseImage
	}
	if opts.RecheckInterval <= 0 {
		opts.RecheckInterval = DefaultRecheckInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Writer{kc: kc, dc: dc, mapper: mapper, opts: opts, lastReset: opts.Now(), modes: map[scale.Target]Mode{}}
}

// Mode says which way headroom is kept now: CapacityBuffer when the API
// server serves autoscaling.x-k8s.io/v1beta1 CapacityBuffer, else balloon.
func (w *Writer) Mode() (Mode, error) {
	m, _, err := w.mode()
	return m, err
}

func (w *Writer) mode() (Mode, schema.GroupVersionResource, error) {
	gvr, err := w.bufferResource()
	if meta.IsNoMatchError(err) && w.recheck() {
		gvr, err = w.bufferResource()
	}
	switch {
	case err == nil:
		return ModeCapacityBuffer, gvr, nil
	case meta.IsNoMatchError(err):
		return ModeBalloon, schema.GroupVersionResource{}, nil
	}
	return 0, schema.GroupVersionResource{}, fmt.Errorf("discover %s: %w", CapacityBufferGVK.GroupKind(), err)
}

func (w *Writer) bufferResource() (schema.GroupVersionResource, error) {
	m, err := w.mapper.RESTMapping(CapacityBufferGVK.GroupKind(), CapacityBufferGVK.Version)
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	return m.Resource, nil
}

// recheck resets a resettable mapper at most once per RecheckInterval and
// says whether it did: discovery caches "no such API" for the life of the
// process otherwise.
func (w *Writer) recheck() bool {
	r, ok := w.mapper.(meta.ResettableRESTMapper)
	if !ok {
		return false
	}
	w.mu.Lock()
	now := w.opts.Now()
	due := now.Sub(w.lastReset) >= w.opts.RecheckInterval
	if due {
		w.lastReset = now
	}
	w.mu.Unlock()
	if due {
		r.Reset()
	}
	return due
}

// forceRecheck makes the next NoMatch ask discovery again, after the API
// server said the CapacityBuffer resource is gone (CRD uninstalled).
func (w *Writer) forceRecheck() {
	if r, ok := w.mapper.(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
}

// Sync makes the target's headroom headroom replicas (0 or less: none, and
// the owned object is deleted) and returns the mode it used. The first
// Sync of a target, and the first after the mode changed, also deletes
// what the other mode left, so installing the CRD retires the balloon.
func (w *Writer) Sync(ctx context.Context, t scale.Target, headroom int32) (Mode, error) {
	t = norm(t)
	headroom = max(headroom, 0)
	mode, gvr, err := w.mode()
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	prev, seen := w.modes[t]
	w.mu.Unlock()
	if !seen || prev != mode {
		// Without the API there can be no CapacityBuffer left to delete.
		if mode == ModeCapacityBuffer {
			if err := w.deleteBalloon(ctx, t); err != nil {
				return mode, err
			}
		}
	}
	if mode == ModeCapacityBuffer {
		err = w.syncBuffer(ctx, gvr, t, headroom)
	} else {
		err = w.syncBalloon(ctx, t, headroom)
	}
	if err != nil {
		return mode, err
	}
	w.mu.Lock()
	w.modes[t] = mode
	w.mu.Unlock()
	return mode, nil
}

// Delete removes whatever the writer owns for the target, in either mode:
// call it when the target or its trigger goes away. Objects not labelled
// as Tide's are left alone.
func (w *Writer) Delete(ctx context.Context, t scale.Target) error {
	t = norm(t)
	var errs []error
	if gvr, err := w.bufferResource(); err == nil {
		errs = append(errs, w.deleteBuffer(ctx, gvr, t))
	} else if !meta.IsNoMatchError(err) {
		errs = append(errs, err)
	}
	errs = append(errs, w.deleteBalloon(ctx, t))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	w.mu.Lock()
	delete(w.modes, t)
	w.mu.Unlock()
	return nil
}

// labels marks an object as Tide's, for this target.
func labels(t scale.Target) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelTarget: labelValue(t.Name)}
}

func owned(m metav1.Object) bool { return m.GetLabels()[LabelManagedBy] == ManagedBy }

func notOwned(what, ns, name string) error {
	return fmt.Errorf("%s %s/%s exists and is not managed by tide (label %s=%s): not touching it", what, ns, name, LabelManagedBy, ManagedBy)
}

// deleteOpts deletes only the object that was read (not a successor of the
// same name) and lets the garbage collector remove ReplicaSets and pods.
func deleteOpts(uid string) metav1.DeleteOptions {
	bg := metav1.DeletePropagationBackground
	o := metav1.DeleteOptions{PropagationPolicy: &bg}
	if uid != "" {
		u := types.UID(uid)
		o.Preconditions = &metav1.Preconditions{UID: &u}
	}
	return o
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// labelValue is name when it is a valid label value, else a shortened
// form with a hash: object names may be 253 characters, label values 63.
func labelValue(name string) string {
	if len(name) <= 63 {
		return name
	}
	return name[:54] + "-" + shortHash(name)
}

// objectName is name+suffix, shortened with a hash past 253 characters.
func objectName(name, suffix string) string {
	if len(name)+len(suffix) <= 253 {
		return name + suffix
	}
	return name[:253-len(suffix)-9] + "-" + shortHash(name) + suffix
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}
