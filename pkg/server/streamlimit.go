package server

import (
	"context"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/peer"
)

// streamLimiter bounds the streams of one streaming RPC that one client
// connection holds open at once. The client is its peer address (ip:port),
// so each connection of a client has its own budget; KEDA keeps one
// connection per scaler address. Under a limit it exports the most streams
// any one client holds, so an alert can fire before the limit refuses one.
type streamLimiter struct {
	rpc     string // named in the rejection
	max     int    // 0 = no limit
	highest prometheus.Gauge

	mu      sync.Mutex
	open    map[string]int // by peer address; entries at 0 are deleted
	holding map[int]int    // clients by the number of streams they hold
	top     int            // the largest key of holding
}

func newStreamLimiter(rpc string, max int, highest prometheus.Gauge) *streamLimiter {
	return &streamLimiter{rpc: rpc, max: max, highest: highest, open: map[string]int{}, holding: map[int]int{}}
}

// acquire counts one more stream for ctx's client, or fails with a
// limitError (ResourceExhausted) when the client already holds the maximum.
// release must be called once when the stream ends.
func (l *streamLimiter) acquire(ctx context.Context) (release func(), err error) {
	if l.max <= 0 {
		return func() {}, nil
	}
	client := ""
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		client = p.Addr.String()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.open[client]; n >= l.max {
		return nil, &limitError{fmt.Sprintf("client %s already holds %d %s streams, the per-client stream limit", client, n, l.rpc)}
	}
	l.move(l.open[client], +1)
	l.open[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.move(l.open[client], -1)
			if l.open[client]--; l.open[client] <= 0 {
				delete(l.open, client)
			}
		})
	}, nil
}

// move accounts for one client going from n streams to n+d (d is ±1) and
// keeps the exported maximum; l.mu is held. The maximum only ever moves by
// one, so it needs no scan of the clients.
func (l *streamLimiter) move(n, d int) {
	if n > 0 {
		if l.holding[n]--; l.holding[n] == 0 {
			delete(l.holding, n)
		}
	}
	if n+d > 0 {
		l.holding[n+d]++
	}
	switch {
	case n+d > l.top:
		l.top = n + d
	case n == l.top && l.holding[n] == 0:
		l.top = n + d
	}
	l.highest.Set(float64(l.top))
}
