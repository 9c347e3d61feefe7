package discovery

import (
	"context"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// TestPushPeersFromEndpointSlices: a scaler replica's push peers are the
// ready endpoints of its own Service's EndpointSlices, minus its pod IP,
// at the http port; a replica turning ready becomes a peer, and a running
// Forwarder follows.
func TestPushPeersFromEndpointSlices(t *testing.T) {
	c := fake.NewClientset(
		slice("tide-system", "tide", "tide-abc", 8080,
			ep{pod: "tide-0", ip: "10.0.0.1", ready: ptr(true)},
			ep{pod: "tide-1", ip: "10.0.0.2", ready: ptr(true)},                     // this replica
			ep{pod: "tide-2", ip: "10.0.0.3", ready: ptr(false)},                    // starting
			ep{pod: "tide-3", ip: "10.0.0.4", ready: ptr(true), terminating: true}), // draining
		slice("tide-system", "other", "other-xyz", 8080, ep{pod: "o", ip: "10.0.9.9", ready: ptr(true)}),
	)
	k := New(clientOf(c))
	defer k.Close()
	p, err := inference.FollowPeers(k, "tide-system", "tide", "http", "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	peers := func() []string {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		got, err := p.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got, want := peers(), []string{"http://10.0.0.1:8080"}; !slices.Equal(got, want) {
		t.Errorf("peers %v; want %v", got, want)
	}

	fwd, err := inference.NewForwarder(inference.ForwarderOptions{Peers: p, Token: []byte("t"), Refresh: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); fwd.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the forwarder to follow one peer", func() bool { return fwd.PeerCount() == 1 })

	s, _ := c.DiscoveryV1().EndpointSlices("tide-system").Get(t.Context(), "tide-abc", metav1.GetOptions{})
	s.Endpoints[2].Conditions.Ready = ptr(true)
	if _, err := c.DiscoveryV1().EndpointSlices("tide-system").Update(t.Context(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "tide-2 to become a peer", func() bool {
		return slices.Equal(peers(), []string{"http://10.0.0.1:8080", "http://10.0.0.3:8080"})
	})
	waitFor(t, "the forwarder to follow two peers", func() bool { return fwd.PeerCount() == 2 })
}
