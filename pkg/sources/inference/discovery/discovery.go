package discovery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	discoveryclient "k8s.io/client-go/kubernetes/typed/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// Client is the one API group discovery reads. Taking the typed
// discovery/v1 client rather than the whole clientset keeps the other
// groups' typed clients out of the binary (the scaler grew by 35 MB with
// it, by 50 MB with the whole clientset). kubernetes.Interface's
// DiscoveryV1() provides it.
type Client = discoveryclient.DiscoveryV1Interface

// Kube implements inference.Discovery with client-go informers.
type Kube struct {
	newClient func() (Client, error)

	mu      sync.Mutex
	client  Client
	follows map[string]*follow // by namespace/service
	closed  bool
}

var _ inference.Discovery = (*Kube)(nil)

// New returns a Kube that creates its client with newClient on the first
// Follow: a scaler with no Service triggers never needs a cluster. The
// process passes the client of its one Kubernetes client stack.
func New(newClient func() (Client, error)) *Kube {
	return &Kube{newClient: newClient, follows: map[string]*follow{}}
}

// Follow starts (or shares) the informer of namespace/service.
func (k *Kube) Follow(namespace, service string) (inference.Service, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, errors.New("discovery closed")
	}
	if k.client == nil {
		c, err := k.newClient()
		if err != nil {
			return nil, err
		}
		k.client = c
	}
	key := namespace + "/" + service
	f := k.follows[key]
	if f == nil {
		f = newFollow(k.client, namespace, service)
		k.follows[key] = f
	}
	f.refs++
	return &handle{k: k, f: f}, nil
}

// Close stops every informer.
func (k *Kube) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.closed = true
	for key, f := range k.follows {
		close(f.stop)
		delete(k.follows, key)
	}
	return nil
}

func (k *Kube) release(f *follow) {
	k.mu.Lock()
	defer k.mu.Unlock()
	f.refs--
	if f.refs == 0 && k.follows[f.key] == f {
		close(f.stop)
		delete(k.follows, f.key)
	}
}

// follow is one Service's informer.
type follow struct {
	key      string
	service  string
	refs     int
	stop     chan struct{}
	informer cache.SharedIndexInformer

	mu      sync.Mutex
	lastErr error // the informer's latest list/watch error, for "why not synced"
}

func newFollow(c Client, namespace, service string) *follow {
	f := &follow{key: namespace + "/" + service, service: service, stop: make(chan struct{})}
	selector := discoveryv1.LabelServiceName + "=" + service
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			return c.EndpointSlices(namespace).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return c.EndpointSlices(namespace).Watch(ctx, o)
		},
	}
	// The wrapper lets a client that cannot stream a watch-list (a fake)
	// say so, as client-go's generated informers do.
	f.informer = cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, c),
		&discoveryv1.EndpointSlice{}, 0, cache.Indexers{})
	_ = f.informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		f.mu.Lock()
		f.lastErr = err
		f.mu.Unlock()
	})
	go f.informer.Run(f.stop)
	return f
}

// handle is one user's share of a follow.
type handle struct {
	k    *Kube
	f    *follow
	once sync.Once
}

// syncPoll is how often Endpoints checks whether the first list arrived.
const syncPoll = 10 * time.Millisecond

// Endpoints returns the Service's endpoints from the informer's cache,
// waiting within ctx for its first list.
func (h *handle) Endpoints(ctx context.Context) ([]inference.ServiceEndpoint, error) {
	for !h.f.informer.HasSynced() {
		select {
		case <-ctx.Done():
			h.f.mu.Lock()
			last := h.f.lastErr
			h.f.mu.Unlock()
			if last != nil {
				return nil, fmt.Errorf("EndpointSlices of %s not listed yet: %w", h.f.key, last)
			}
			return nil, fmt.Errorf("EndpointSlices of %s not listed yet: %w", h.f.key, ctx.Err())
		case <-time.After(syncPoll):
		}
	}
	var out []inference.ServiceEndpoint
	for _, o := range h.f.informer.GetStore().List() {
		// The informer lists by label already; the check keeps a watch
		// that does not filter (a fake) from leaking other Services in.
		if s, ok := o.(*discoveryv1.EndpointSlice); ok && s.Labels[discoveryv1.LabelServiceName] == h.f.service {
			out = append(out, convert(s)...)
		}
	}
	return out, nil
}

// Close lets go of the follow; the last user stops the informer.
func (h *handle) Close() error {
	h.once.Do(func() { h.k.release(h.f) })
	return nil
}

// convert lists a slice's addresses. An endpoint counts as ready when its
// ready condition is true or unset (the API's rule) and it is not
// terminating.
func convert(s *discoveryv1.EndpointSlice) []inference.ServiceEndpoint {
	if s.AddressType != discoveryv1.AddressTypeIPv4 && s.AddressType != discoveryv1.AddressTypeIPv6 {
		return nil
	}
	ports := map[string]int32{}
	for _, p := range s.Ports {
		if p.Port == nil {
			continue
		}
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		ports[name] = *p.Port
	}
	var out []inference.ServiceEndpoint
	for _, ep := range s.Endpoints {
		c := ep.Conditions
		ready := (c.Ready == nil || *c.Ready) && (c.Terminating == nil || !*c.Terminating)
		pod := ""
		if ep.TargetRef != nil && ep.TargetRef.Kind == "Pod" {
			pod = ep.TargetRef.Name
		}
		for _, ip := range ep.Addresses {
			out = append(out, inference.ServiceEndpoint{Pod: pod, IP: ip, Ports: ports, Ready: ready})
		}
	}
	return out
}
