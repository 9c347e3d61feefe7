package server

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc/peer"
)

// streamLimiter bounds the streams of one streaming RPC that one client
// connection holds open at once. The client is its peer address (ip:port),
// so each connection of a client has its own budget; KEDA keeps one
// connection per scaler address.
type streamLimiter struct {
	rpc string // named in the rejection
	max int    // 0 = no limit

	mu   sync.Mutex
	open map[string]int // by peer address; entries at 0 are deleted
}

func newStreamLimiter(rpc string, max int) *streamLimiter {
	return &streamLimiter{rpc: rpc, max: max, open: map[string]int{}}
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
	l.open[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[client]--; l.open[client] <= 0 {
				delete(l.open, client)
			}
		})
	}, nil
}
