package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// replicaWatch records every .spec.replicas a Deployment takes (its scale
// subresource), from a watch, so that no change between two samples is
// missed.
type replicaWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	seen   []replicaChange
	errors []string // watch restarts: changes may have been missed there
}

// replicaChange is one value of .spec.replicas and when it was seen.
type replicaChange struct {
	replicas int32
	at       time.Time
	rv       string
}

// watchReplicas starts recording ns/name's replicas, from its current value.
func watchReplicas(ctx context.Context, kc kubernetes.Interface, ns, name string) (*replicaWatch, error) {
	d, err := kc.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &replicaWatch{cancel: cancel, done: make(chan struct{})}
	w.add(d)
	go func() {
		defer close(w.done)
		rv := d.ResourceVersion
		for ctx.Err() == nil {
			rv = w.follow(ctx, kc, ns, name, rv)
		}
	}()
	return w, nil
}

// follow records the events of one watch from rv and returns the last
// resourceVersion it saw. After a failed watch it reads the object again.
func (w *replicaWatch) follow(ctx context.Context, kc kubernetes.Interface, ns, name, rv string) string {
	wi, err := kc.AppsV1().Deployments(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + name, ResourceVersion: rv, AllowWatchBookmarks: true})
	if err == nil {
		defer wi.Stop()
		for ev := range wi.ResultChan() {
			switch d, ok := ev.Object.(*appsv1.Deployment); {
			case ev.Type == watch.Bookmark && ok:
				rv = d.ResourceVersion
			case ev.Type == watch.Error:
				err = fmt.Errorf("watch error: %v", ev.Object)
			case ok:
				w.add(d)
				rv = d.ResourceVersion
			}
			if err != nil {
				break
			}
		}
		if err == nil {
			return rv // the server ended the watch: resume where it stopped
		}
	}
	if ctx.Err() != nil {
		return rv
	}
	w.mu.Lock()
	w.errors = append(w.errors, err.Error())
	w.mu.Unlock()
	d, gerr := kc.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if gerr != nil {
		time.Sleep(100 * time.Millisecond) // the API server is unreachable: retry
		return rv
	}
	w.add(d)
	return d.ResourceVersion
}

func (w *replicaWatch) add(d *appsv1.Deployment) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := int32(1)
	if d.Spec.Replicas != nil {
		r = *d.Spec.Replicas
	}
	if n := len(w.seen); n > 0 && w.seen[n-1].replicas == r {
		return // another field changed
	}
	w.seen = append(w.seen, replicaChange{replicas: r, at: time.Now(), rv: d.ResourceVersion})
}

// mark is the number of changes recorded so far: the changes after it
// happened after this moment (or within the watch's delivery delay).
func (w *replicaWatch) mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.seen)
}

// stop ends the watch and returns every change recorded and the watch's
// errors.
func (w *replicaWatch) stop() ([]replicaChange, []string) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]replicaChange(nil), w.seen...), append([]string(nil), w.errors...)
}

// history formats changes relative to start, for failure messages.
func history(changes []replicaChange, start time.Time) string {
	var b strings.Builder
	for _, c := range changes {
		fmt.Fprintf(&b, "  +%s: %d (rv %s)\n", c.at.Sub(start).Round(time.Millisecond), c.replicas, c.rv)
	}
	return b.String()
}
