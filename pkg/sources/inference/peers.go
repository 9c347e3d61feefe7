package inference

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PeerSource lists the other scaler replicas: the base URLs ("http://host:port")
// of their HTTP endpoints, without this replica.
type PeerSource interface {
	Peers(ctx context.Context) ([]string, error)
}

// StaticPeers is a fixed peer list (outside Kubernetes, and in tests).
type StaticPeers []string

// Peers returns the list.
func (s StaticPeers) Peers(context.Context) ([]string, error) { return s, nil }

// ForwarderOptions configure a Forwarder. Zero values take the defaults noted.
type ForwarderOptions struct {
	// Peers lists the replicas to forward to (required).
	Peers PeerSource
	// Token is the bearer token sent to the peers' forward route: the push
	// token, which every replica of one Deployment shares.
	Token []byte
	// Client sends the batches (default: a plain http.Client). Its own
	// timeout, if any, is on top of Timeout.
	Client *http.Client
	// Timeout bounds one batch request (default 2 s): a slow peer holds
	// only its own queue.
	Timeout time.Duration
	// Refresh is how often the peer list is read again (default 1 s).
	Refresh time.Duration
	// MaxPeers caps the peers forwarded to (default 32); pushes for the
	// peers beyond it are counted as dropped (reason "peer_limit").
	MaxPeers int
	// QueueSize caps each peer's queue in (model, second) entries (default
	// 4096): pushes of one model within one second merge into one entry.
	QueueSize int
	// Registerer takes the forwarding metrics (default: none registered).
	Registerer prometheus.Registerer
	// Logger reports peer-list errors (default: discarded).
	Logger *slog.Logger
}

// Forwarder sends the pushes this replica accepted from gateways to every
// peer replica's forward route (PeerPattern), so that each replica's Store,
// and so each replica's answer to KEDA, is the same whichever one the
// gateway pushed to. Entries keep their original timestamp (their 1 s
// bucket); a peer stores them and never forwards them again.
//
// Forward never blocks on the network: each peer has a bounded queue and
// its own sender, with a timeout per batch. What cannot be delivered is
// dropped and counted in tide_push_forward_dropped_total{reason}.
type Forwarder struct {
	opts ForwarderOptions
	id   string // this replica's identity, sent with every batch: a peer list that names this replica is found out
	met  forwardMetrics

	mu    sync.Mutex
	peers map[string]*peer // by base URL
	over  int              // peers listed beyond MaxPeers
	wg    sync.WaitGroup
}

type forwardMetrics struct {
	sent    prometheus.Counter
	dropped *prometheus.CounterVec
	queued  prometheus.Gauge
	peers   prometheus.Gauge
}

// delivered counts n queued entries a peer stored.
func (m forwardMetrics) delivered(n int) {
	m.sent.Add(float64(n))
	m.queued.Sub(float64(n))
}

// drop counts n queued entries dropped for reason.
func (m forwardMetrics) drop(n int, reason string) {
	m.dropped.WithLabelValues(reason).Add(float64(n))
	m.queued.Sub(float64(n))
}

// Reasons a forwarded push is dropped (the reason label).
const (
	dropQueueFull = "queue_full" // the peer's queue was full
	dropPeerError = "peer_error" // the request failed: transport error, timeout, an answer other than 200/204
	dropRefused   = "refused"    // the peer refused entries (too old, store full)
	dropPeerLimit = "peer_limit" // the peer is beyond MaxPeers
	dropPeerGone  = "peer_gone"  // queued for a peer that left the list
	dropSelf      = "self"       // the "peer" was this replica
)

// NewForwarder returns a Forwarder; Run starts following the peer list.
func NewForwarder(opts ForwarderOptions) (*Forwarder, error) {
	if opts.Peers == nil {
		return nil, errors.New("push forwarding needs a peer source")
	}
	if len(opts.Token) == 0 {
		return nil, errors.New("push forwarding needs the push token")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	if opts.MaxPeers <= 0 {
		opts.MaxPeers = 32
	}
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	f := &Forwarder{opts: opts, id: hex.EncodeToString(b[:]), peers: map[string]*peer{}}
	f.met = forwardMetrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "tide", Name: "push_forward_sent_total",
			Help: "Pushed (model, second) entries delivered to peer scaler replicas."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "tide", Name: "push_forward_dropped_total",
			Help: "Pushed entries not delivered to a peer replica, by reason: queue_full, peer_error, refused, peer_limit, peer_gone, self."}, []string{"reason"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tide", Name: "push_forward_queued",
			Help: "Pushed entries queued for peer replicas or in flight to them."}),
		peers: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "tide", Name: "push_peers",
			Help: "Peer scaler replicas pushes are forwarded to."}),
	}
	for _, r := range []string{dropQueueFull, dropPeerError, dropRefused, dropPeerLimit, dropPeerGone, dropSelf} {
		f.met.dropped.WithLabelValues(r) // every reason exported from the start, at 0
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{f.met.sent, f.met.dropped, f.met.queued, f.met.peers} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("push forwarding metrics: %w", err)
			}
		}
	}
	return f, nil
}

// Forward queues one accepted push for every peer. It takes locks only.
func (f *Forwarder) Forward(model string, count float64, at time.Time) {
	e := pushEntry{model: model, sec: at.Unix(), at: at, count: count}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.over > 0 {
		f.met.dropped.WithLabelValues(dropPeerLimit).Add(float64(f.over))
	}
	for _, p := range f.peers {
		switch added, reason := p.enqueue(e, f.opts.QueueSize); {
		case reason != "":
			f.met.dropped.WithLabelValues(reason).Inc()
		case added:
			f.met.queued.Inc()
		}
	}
}

// Run follows the peer list until ctx ends, then stops every sender and
// waits for them.
func (f *Forwarder) Run(ctx context.Context) {
	t := time.NewTicker(f.opts.Refresh)
	defer t.Stop()
	for {
		f.refresh(ctx)
		select {
		case <-ctx.Done():
			f.setPeers(ctx, nil)
			f.wg.Wait()
			return
		case <-t.C:
		}
	}
}

// refresh reads the peer list; on an error the current peers stay.
func (f *Forwarder) refresh(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, f.opts.Refresh)
	defer cancel()
	urls, err := f.opts.Peers.Peers(rctx)
	if err != nil {
		if ctx.Err() == nil {
			f.opts.Logger.Warn("push forwarding: peer list not read; keeping the current peers", "err", err)
		}
		return
	}
	f.setPeers(ctx, urls)
}

// setPeers starts senders for new peers and stops those of peers gone.
func (f *Forwarder) setPeers(ctx context.Context, urls []string) {
	urls = slices.Compact(slices.Sorted(slices.Values(urls)))
	over := max(0, len(urls)-f.opts.MaxPeers)
	urls = urls[:len(urls)-over]
	f.mu.Lock()
	defer f.mu.Unlock()
	f.over = over
	keep := map[string]bool{}
	for _, u := range urls {
		keep[u] = true
		if f.peers[u] == nil {
			pctx, cancel := context.WithCancel(ctx)
			p := &peer{url: u, wake: make(chan struct{}, 1), stop: cancel, idx: map[entryKey]int{}}
			f.peers[u] = p
			f.wg.Go(func() { f.send(pctx, p) })
		}
	}
	for _, u := range slices.Collect(maps.Keys(f.peers)) {
		if !keep[u] {
			p := f.peers[u]
			delete(f.peers, u)
			p.stop()
		}
	}
	f.met.peers.Set(float64(len(f.peers)))
}

// ID is this replica's identity in forwarded batches (ForwardedHandler's
// self).
func (f *Forwarder) ID() string { return f.id }

// PeerCount is how many peers pushes are forwarded to now.
func (f *Forwarder) PeerCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.peers)
}

// pushEntry is one model's count for one second.
type pushEntry struct {
	model string
	sec   int64
	at    time.Time // the first push's timestamp, within sec
	count float64
}

type entryKey struct {
	model string
	sec   int64
}

// peer is one replica's queue and sender.
type peer struct {
	url  string
	wake chan struct{}      // buffered 1: "the queue is not empty"
	stop context.CancelFunc // the peer left the list: its batch in flight ends too

	mu   sync.Mutex
	q    []pushEntry
	idx  map[entryKey]int // the queued entry of each (model, second)
	self bool             // the peer answered that it is this replica

	failing bool // its last batch failed (the sender's own: no lock)
}

// enqueue merges e into the queue (added: as a new entry), or returns
// why it was dropped.
func (p *peer) enqueue(e pushEntry, limit int) (added bool, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.self {
		return false, dropSelf // this replica stored it already; counted, as the peer list is wrong
	}
	k := entryKey{e.model, e.sec}
	if i, ok := p.idx[k]; ok && p.q[i].count+e.count <= maxPushCount {
		p.q[i].count += e.count
		return false, ""
	}
	if len(p.q) >= limit {
		return false, dropQueueFull
	}
	p.idx[k] = len(p.q)
	p.q = append(p.q, e)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return true, ""
}

// take removes and returns the queue.
func (p *peer) take() []pushEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	q := p.q
	p.q = nil
	clear(p.idx)
	return q
}

// send delivers p's queue in batches until ctx ends (p left the list, or
// Run's context ended); what is queued then is dropped and counted.
func (f *Forwarder) send(ctx context.Context, p *peer) {
	for {
		select {
		case <-ctx.Done():
		case <-p.wake:
			q := p.take()
			for len(q) > 0 && ctx.Err() == nil {
				body, n := encodeBatch(q)
				f.deliver(ctx, p, body, n)
				q = q[n:]
			}
			f.met.drop(len(q), dropPeerGone)
			if ctx.Err() == nil {
				continue
			}
		}
		f.met.drop(len(p.take()), dropPeerGone)
		return
	}
}
