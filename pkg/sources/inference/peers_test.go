package inference

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// replica is one scaler replica's push side: a Store behind the push and
// forward routes on a real loopback HTTP server, and its Forwarder.
type replica struct {
	store *Store
	fwd   *Forwarder
	srv   *httptest.Server
	peers *lockedPeers
	// passed counts the pushes the store passed to the forwarder.
	passed atomic.Int64
}

// lockedPeers is a peer list a test changes while the forwarder runs.
type lockedPeers struct {
	mu   sync.Mutex
	urls []string
}

func (l *lockedPeers) Peers(context.Context) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.urls), nil
}

func (l *lockedPeers) set(urls ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.urls = urls
}

// newReplica starts a replica with forwarding on (forward) or off, its
// peers set later with peers.set. Its forwarder runs until the test ends.
func newReplica(t *testing.T, now func() time.Time, forward bool, opts ForwarderOptions) *replica {
	t.Helper()
	r := &replica{peers: &lockedPeers{}}
	so := StoreOptions{Now: now}
	self := ""
	if forward {
		if opts.Peers == nil {
			opts.Peers = r.peers
		}
		if opts.Token == nil {
			opts.Token = []byte(testToken)
		}
		opts.Refresh = 10 * time.Millisecond
		fwd, err := NewForwarder(opts)
		if err != nil {
			t.Fatal(err)
		}
		r.fwd, self = fwd, fwd.ID()
		so.Forward = func(model string, count float64, at time.Time) {
			r.passed.Add(1)
			fwd.Forward(model, count, at)
		}
	}
	r.store = NewStore(so)
	r.store.start = t0 // as if up for a while: rates are over full windows
	mux := http.NewServeMux()
	mux.Handle(PushPattern, r.store.Handler([]byte(testToken)))
	mux.Handle(ForwardPattern, r.store.ForwardedHandler([]byte(testToken), self))
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	if r.fwd != nil {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); r.fwd.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	return r
}

// push POSTs one push to r's push endpoint.
func (r *replica) push(t *testing.T, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.srv.URL+"/v1/push", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("push %s: %d", body, resp.StatusCode)
	}
}

// buckets is a store's model log as "second:count" strings.
func buckets(s *Store, model string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if l := s.models[model]; l != nil {
		for i, sec := range l.secs {
			out = append(out, fmt.Sprintf("%d:%g", sec, l.counts[i]))
		}
	}
	return out
}

func dropped(f *Forwarder, reason string) float64 {
	return testutil.ToFloat64(f.met.dropped.WithLabelValues(reason))
}

// TestForwardKeepsTimestampsAndNeverLoops: two replicas, each the other's
// peer; a gateway pushes to one only. The other holds the same 1 s buckets
// (the original timestamps, and the first replica's arrival stamp for a
// push without one), and nothing comes back: the first replica counts
// each push once, and the second forwards nothing.
func TestForwardKeepsTimestampsAndNeverLoops(t *testing.T) {
	c := &clock{now: t0.Add(30 * time.Second)}
	a := newReplica(t, c.Now, true, ForwarderOptions{})
	b := newReplica(t, c.Now, true, ForwarderOptions{})
	a.peers.set(b.srv.URL)
	b.peers.set(a.srv.URL)
	waitFor(t, "the peers to be followed", 5*time.Second, func() bool { return a.fwd.PeerCount() == 1 && b.fwd.PeerCount() == 1 })

	ts := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339Nano) }
	a.push(t, `{"model":"m","count":3,"timestamp":"`+ts(100*time.Millisecond)+`"}`)
	a.push(t, `{"model":"m","count":4,"timestamp":"`+ts(900*time.Millisecond)+`"}`) // same second: one bucket
	a.push(t, `{"model":"m","count":5,"timestamp":"`+ts(7*time.Second)+`"}`)
	a.push(t, `{"model":"m","count":2}`)                                      // stamped by a: t0+30s
	a.push(t, `{"model":"m","count":1,"timestamp":"`+ts(50*time.Second)+`"}`) // ahead: clamped to a's now
	a.push(t, `{"model":"other","count":9,"timestamp":"`+ts(time.Second)+`"}`)
	want := []string{fmt.Sprintf("%d:7", t0.Unix()), fmt.Sprintf("%d:5", t0.Unix()+7), fmt.Sprintf("%d:3", t0.Unix()+30)}
	waitFor(t, "b to hold a's counts", 5*time.Second, func() bool {
		return slices.Equal(buckets(b.store, "m"), want) && len(buckets(b.store, "other")) == 1
	})
	if got := buckets(a.store, "m"); !slices.Equal(got, want) {
		t.Errorf("a holds %v; want %v (each push once)", got, want)
	}
	// b answered every batch (a counted them sent); a forwarded push
	// would have reached b's forwarder before that answer.
	waitFor(t, "a's entries to be delivered", 5*time.Second, func() bool { return testutil.ToFloat64(a.fwd.met.queued) == 0 })
	if n := testutil.ToFloat64(a.fwd.met.sent); n < 4 {
		t.Errorf("a sent %v entries; want at least 4", n)
	}
	if n := b.passed.Load(); n != 0 {
		t.Errorf("b passed %d pushes it received forwarded on to its peers", n)
	}
	if n := a.passed.Load(); n != 6 {
		t.Errorf("a passed %d pushes to its forwarder; want the 6 it accepted", n)
	}
	if got := buckets(a.store, "m"); !slices.Equal(got, want) {
		t.Errorf("after a while, a holds %v; want %v: a forwarded push came back", got, want)
	}
	if got := buckets(b.store, "m"); !slices.Equal(got, want) {
		t.Errorf("after a while, b holds %v; want %v", got, want)
	}
	for _, s := range []*Store{a.store, b.store} {
		if r := s.rate("m", t0.Add(10*time.Second), 10*time.Second); r != 1.2 {
			t.Errorf("rate over the first 10 s = %v; want 1.2 on both replicas", r)
		}
	}
}

// TestForwardedNeedsToken: the forward route refuses a batch without the
// push token, or with another, and stores nothing; a forwarder with the
// wrong token counts its batches dropped (peer_error), never delivered.
func TestForwardedNeedsToken(t *testing.T) {
	c := &clock{now: t0}
	s := NewStore(StoreOptions{Now: c.Now})
	h := s.ForwardedHandler([]byte(testToken), "")
	body := `{"pushes":[{"model":"m","count":1,"timestamp":"` + t0.Format(time.RFC3339) + `"}]}`
	for _, auth := range []string{"", "Bearer nope", "Basic " + testToken} {
		req := httptest.NewRequest(http.MethodPost, "/v1/push/forwarded", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), testToken) {
			t.Errorf("auth %q: %d %q; want 401 without the token", auth, rec.Code, rec.Body.String())
		}
	}
	if got := buckets(s, "m"); len(got) != 0 {
		t.Errorf("an unauthorized batch was stored: %v", got)
	}

	b := newReplica(t, c.Now, false, ForwarderOptions{})
	a := newReplica(t, c.Now, true, ForwarderOptions{Token: []byte("not-the-token")})
	a.peers.set(b.srv.URL)
	waitFor(t, "the peer to be followed", 5*time.Second, func() bool { return a.fwd.PeerCount() == 1 })
	a.push(t, `{"model":"m","count":1}`)
	waitFor(t, "the batch to be refused", 5*time.Second, func() bool { return testutil.ToFloat64(a.fwd.met.queued) == 0 })
	if n := dropped(a.fwd, dropPeerError); n != 1 {
		t.Errorf("dropped{peer_error} = %v; want 1", n)
	}
	if got := buckets(b.store, "m"); len(got) != 0 {
		t.Errorf("b stored a batch with the wrong token: %v", got)
	}
}

// TestForwardedBatches: a forwarded push must carry its timestamp and pass
// the push endpoint's checks, each refusal named and counted; the body is
// bounded (413) and so is every batch a forwarder encodes.
func TestForwardedBatches(t *testing.T) {
	c := &clock{now: t0}
	s := NewStore(StoreOptions{Now: c.Now})
	h := s.ForwardedHandler([]byte(testToken), "me")
	send := func(body string, hdr ...string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/push/forwarded", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	ts := t0.Format(time.RFC3339)
	code, body := send(`{"pushes":[{"model":"m","count":2,"timestamp":"` + ts + `"},{"model":"m","count":1},` +
		`{"model":"m","count":1,"timestamp":"` + t0.Add(-time.Hour).Format(time.RFC3339) + `"}]}`)
	if code != 200 || !strings.Contains(body, `"stored":1,"refused":2`) || !strings.Contains(body, `push 1: field \"timestamp\": required`) {
		t.Errorf("mixed batch: %d %s", code, body)
	}
	if code, body := send(`{"pushes":[{"model":"m","count":1,"timestamp":"`+ts+`"}]}`, replicaHeader, "me"); code != 409 {
		t.Errorf("a batch from this replica: %d %s; want 409", code, body)
	}
	if code, _ := send(`{"pushes":[{"model":"m","count":1}],"more":1}`); code != 400 {
		t.Errorf("unknown field: %d; want 400", code)
	}
	if code, _ := send(`{"pushes":[` + strings.Repeat(`{"model":"m","count":1,"timestamp":"`+ts+`"},`, maxForwardBody/50) + `]}`); code != 413 {
		t.Errorf("oversized batch: %d; want 413", code)
	}
	if got := buckets(s, "m"); !slices.Equal(got, []string{fmt.Sprintf("%d:2", t0.Unix())}) {
		t.Errorf("stored %v; want only the valid entry", got)
	}

	// Batches of the longest models stay within the bound and cover the queue.
	var q []pushEntry
	for i := range 2000 {
		q = append(q, pushEntry{model: fmt.Sprintf("%0256d", i), sec: t0.Unix(), at: t0, count: maxPushCount})
	}
	total := 0
	for len(q) > 0 {
		b, n := encodeBatch(q)
		if len(b) > maxForwardBody || n < 1 {
			t.Fatalf("batch of %d entries is %d bytes; bound %d", n, len(b), maxForwardBody)
		}
		// The store's 1000 models fill up: refusals, never a bad body.
		if code, body := send(string(b)); code != 204 && (code != 200 || !strings.Contains(body, "too many models")) {
			t.Fatalf("encoded batch: %d %s", code, body)
		}
		total += n
		q = q[n:]
	}
	if total != 2000 {
		t.Errorf("batches covered %d entries; want 2000", total)
	}
}

// hangingPeer accepts batches and answers none until the request ends.
func hangingPeer(t *testing.T) (url string, got <-chan struct{}) {
	ch := make(chan struct{}, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // the server notices a client going away only after the body
		ch <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// deadPeer is an address nothing listens on.
func deadPeer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestForwardSlowPeerNeverBlocksPush: with one peer hanging on a batch and
// one not listening, every gateway push is still answered at once and the
// healthy peer gets every entry. Behind a hanging batch a peer's queue is
// bounded: what overflows is dropped and counted (queue_full), and when the
// peer leaves the list its batch in flight (peer_error) and its queue
// (peer_gone) are counted too: every entry is delivered or counted. A
// per-request timeout ends a hanging batch.
func TestForwardSlowPeerNeverBlocksPush(t *testing.T) {
	c := &clock{now: t0.Add(time.Minute)}
	ts := func(i int) string { return t0.Add(time.Duration(i) * time.Second).Format(time.RFC3339) }
	const pushes = 21

	hang, got := hangingPeer(t)
	b := newReplica(t, c.Now, false, ForwarderOptions{})
	var logs lockedBuffer
	a := newReplica(t, c.Now, true, ForwarderOptions{Timeout: time.Hour, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	dead := deadPeer(t)
	a.peers.set(hang, dead, b.srv.URL)
	waitFor(t, "three peers", 5*time.Second, func() bool { return a.fwd.PeerCount() == 3 })
	a.push(t, `{"model":"m","count":1,"timestamp":"`+ts(0)+`"}`)
	<-got // the hanging peer holds a batch, for an hour
	for i := 1; i < pushes; i++ {
		a.push(t, `{"model":"m","count":1,"timestamp":"`+ts(i)+`"}`) // answered: the test would hang otherwise
	}
	waitFor(t, "the healthy peer to hold every push", 5*time.Second, func() bool { return len(buckets(b.store, "m")) == pushes })
	waitFor(t, "the dead peer's entries to be dropped", 5*time.Second, func() bool { return dropped(a.fwd, dropPeerError) == pushes })
	if n := strings.Count(logs.String(), "not taking pushes"); n != 1 || !strings.Contains(logs.String(), dead) || strings.Contains(logs.String(), testToken) {
		t.Errorf("a failing peer is logged %d times; want once, naming it, without the token:\n%s", n, logs.String())
	}

	// A queue of 3 behind a hanging batch of 1.
	hang2, got2 := hangingPeer(t)
	q := newReplica(t, c.Now, true, ForwarderOptions{QueueSize: 3, Timeout: time.Hour})
	q.peers.set(hang2)
	waitFor(t, "the peer", 5*time.Second, func() bool { return q.fwd.PeerCount() == 1 })
	q.push(t, `{"model":"m","count":1,"timestamp":"`+ts(0)+`"}`)
	<-got2
	for i := 1; i < pushes; i++ {
		q.push(t, `{"model":"m","count":1,"timestamp":"`+ts(i)+`"}`)
	}
	if n := dropped(q.fwd, dropQueueFull); n != pushes-1-3 {
		t.Errorf("dropped{queue_full} = %v; want %d", n, pushes-1-3)
	}
	q.peers.set() // the hanging peer leaves: its batch ends, its queue is dropped
	waitFor(t, "every entry to be settled", 5*time.Second, func() bool { return testutil.ToFloat64(q.fwd.met.queued) == 0 })
	if e, g := dropped(q.fwd, dropPeerError), dropped(q.fwd, dropPeerGone); e != 1 || g != 3 {
		t.Errorf("dropped{peer_error} = %v, dropped{peer_gone} = %v; want 1 (the batch in flight) and 3 (the queue)", e, g)
	}

	// A per-request timeout: the batch ends and is dropped as a peer error.
	hang3, _ := hangingPeer(t)
	d := newReplica(t, c.Now, true, ForwarderOptions{Timeout: 50 * time.Millisecond})
	d.peers.set(hang3)
	waitFor(t, "the peer", 5*time.Second, func() bool { return d.fwd.PeerCount() == 1 })
	d.push(t, `{"model":"m","count":1}`)
	waitFor(t, "the batch to time out", 5*time.Second, func() bool { return testutil.ToFloat64(d.fwd.met.queued) == 0 })
	if n := dropped(d.fwd, dropPeerError); n != 1 {
		t.Errorf("dropped{peer_error} = %v after a timeout; want 1", n)
	}
}

// TestForwardPeerLimitAndSelf: peers beyond MaxPeers get nothing, counted
// per push (peer_limit); a peer list that names this replica itself is
// found out (409) and counted (self), and no push is counted twice.
func TestForwardPeerLimitAndSelf(t *testing.T) {
	c := &clock{now: t0.Add(time.Minute)}
	b := newReplica(t, c.Now, false, ForwarderOptions{})
	a := newReplica(t, c.Now, true, ForwarderOptions{MaxPeers: 1})
	a.peers.set(b.srv.URL, deadPeer(t))
	waitFor(t, "one peer", 5*time.Second, func() bool { return a.fwd.PeerCount() == 1 })
	a.push(t, `{"model":"m","count":1}`)
	a.push(t, `{"model":"m","count":1}`)
	if n := dropped(a.fwd, dropPeerLimit); n != 2 {
		t.Errorf("dropped{peer_limit} = %v; want 2 (two pushes, one peer over the cap)", n)
	}
	if n := testutil.ToFloat64(a.fwd.met.peers); n != 1 {
		t.Errorf("tide_push_peers = %v; want 1", n)
	}

	s := newReplica(t, c.Now, true, ForwarderOptions{})
	s.peers.set(s.srv.URL)
	waitFor(t, "the peer", 5*time.Second, func() bool { return s.fwd.PeerCount() == 1 })
	s.push(t, `{"model":"m","count":5}`)
	waitFor(t, "the batch to itself to be refused", 5*time.Second, func() bool { return dropped(s.fwd, dropSelf) == 1 })
	s.push(t, `{"model":"m","count":5}`)
	if n := dropped(s.fwd, dropSelf); n != 2 {
		t.Errorf("dropped{self} = %v; want 2", n)
	}
	if got := buckets(s.store, "m"); !slices.Equal(got, []string{fmt.Sprintf("%d:10", c.now.Unix())}) {
		t.Errorf("a replica that is its own peer holds %v; want each push once (10)", got)
	}
}
