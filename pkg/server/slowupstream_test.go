package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/internal/vllmfake"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// Upstream A of TestSlowUpstreamDoesNotDelayOthersOverGRPC: one vLLM pod
// scraped by an inference trigger. Its waiting gauge with targetWaiting 1
// makes the trigger's value (the KPA's desired replicas) slowWaiting.
const slowWaiting = 7

// slowTarget is a loopback vLLM pod that the test can make hang. A hung
// handler reads the request and then blocks: the first hung request until
// the test releases the pod (a response "of 10 s or more": it never comes
// while the test looks), every later one until the release or until its
// client gives up. It counts requests and, through http.Server.ConnState,
// the connections open to it.
type slowTarget struct {
	srv  *httptest.Server
	hits atomic.Int64 // requests received
	// firstGood is the index (in hits) of the first request answered after
	// the hang ended; 0 until then.
	firstGood atomic.Int64
	blocked   atomic.Int64 // handlers blocked now

	pinOnce    sync.Once
	pinned     chan struct{} // closed when the first hung request arrived
	pinnedDone chan struct{} // closed when that request's handler returned
	release    chan struct{}
	relOnce    sync.Once

	mu       sync.Mutex
	hanging  bool
	hungOver bool // the hang was set and then ended
	conns    map[net.Conn]http.ConnState
	accepted int // connections ever accepted
}

func newSlowTarget(t *testing.T) *slowTarget {
	t.Helper()
	s := &slowTarget{pinned: make(chan struct{}), pinnedDone: make(chan struct{}), release: make(chan struct{}),
		conns: map[net.Conn]http.ConnState{}}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = s.track
	s.srv.Start()
	t.Cleanup(func() {
		s.unblock()
		s.srv.Close()
	})
	return s
}

func (s *slowTarget) serve(w http.ResponseWriter, r *http.Request) {
	n := s.hits.Add(1)
	s.mu.Lock()
	hanging, over := s.hanging, s.hungOver
	s.mu.Unlock()
	if !hanging {
		if over {
			s.firstGood.CompareAndSwap(0, n)
		}
		vllmfake.Serve(w, vllmfake.State{Waiting: slowWaiting})
		return
	}
	io.Copy(io.Discard, r.Body) //nolint:errcheck // read the request as a server does before working on it
	s.blocked.Add(1)
	defer s.blocked.Add(-1)
	first := false
	s.pinOnce.Do(func() { first = true })
	if first {
		defer close(s.pinnedDone)
		close(s.pinned)
		<-s.release // ignores the client: only the test ends this response
	} else {
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
	}
	// The slow answer never comes: drop the connection, as a pod that
	// died would, so a poll still waiting reads an error and not an empty
	// 200.
	panic(http.ErrAbortHandler)
}

// hang makes every request from now on hang.
func (s *slowTarget) hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hanging = true
}

// unhang answers every request from now on at once, then releases the
// handlers still blocked.
func (s *slowTarget) unhang() {
	s.mu.Lock()
	s.hanging, s.hungOver = false, true
	s.mu.Unlock()
	s.unblock()
}

func (s *slowTarget) unblock() { s.relOnce.Do(func() { close(s.release) }) }

func (s *slowTarget) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch st {
	case http.StateNew:
		s.accepted++
		s.conns[c] = st
	case http.StateClosed, http.StateHijacked:
		delete(s.conns, c)
	default:
		s.conns[c] = st
	}
}

// open is the number of connections open to the pod; accepted the number
// it ever accepted.
func (s *slowTarget) open() (open, accepted int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns), s.accepted
}

// startSlowServer runs the real server over a loopback port with an engine
// and registry wired as `scaler serve` wires them (without Kubernetes
// discovery and the push store, which these triggers do not use).
func startSlowServer(t *testing.T, opts sources.Options) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	met := metrics.New(reg)
	log := slog.New(slog.DiscardHandler)
	opts.Metrics, opts.Logger = met, log
	eng := sources.NewEngine(opts)
	t.Cleanup(func() { eng.Close() })
	cache := trigger.NewCache(trigger.CacheConfig{Registry: builtin.Registry(builtin.Options{}), Reader: eng, Max: 100000})
	t.Cleanup(cache.Close)
	return runServer(t, Config{
		GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second, IdleTriggerTTL: 10 * time.Minute,
		Service:  ServiceConfig{Triggers: cache, Metrics: met, StreamRepeat: 5 * time.Second, MaxStreamsPerClient: 20000},
		Gatherer: reg, Logger: log,
	})
}

// slowBound bounds every wait of the test: a failure bound, never a claim
// of speed.
const slowBound = 10 * time.Second

// eventually polls cond until it holds, failing after slowBound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(slowBound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", slowBound, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// settleAtMost waits until count() <= limit, failing after slowBound; it
// returns the count that held.
func settleAtMost(t *testing.T, what string, limit int, count func() int) int {
	t.Helper()
	deadline := time.Now().Add(slowBound)
	for {
		n := count()
		if n <= limit {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %d after %s; want at most %d", what, n, slowBound, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rpcValue is one GetMetrics answer: the value, or the error's code.
func rpcValue(c pb.ExternalScalerClient, r *pb.ScaledObjectRef) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), slowBound)
	defer cancel()
	resp, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: r})
	if err != nil {
		return 0, err
	}
	if len(resp.MetricValues) != 1 {
		return 0, fmt.Errorf("%d metric values; want 1", len(resp.MetricValues))
	}
	v := resp.MetricValues[0]
	if float64(v.MetricValue) != v.MetricValueFloat {
		return 0, fmt.Errorf("int %d and float %v disagree", v.MetricValue, v.MetricValueFloat)
	}
	return v.MetricValueFloat, nil
}

// mustServeB checks, through many GetMetrics and IsActive calls from
// several clients' goroutines at once, that B's trigger answers want.
func mustServeB(t *testing.T, c pb.ExternalScalerClient, r *pb.ScaledObjectRef, want float64) int {
	t.Helper()
	const workers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*2)
	for range workers {
		wg.Go(func() {
			for range each {
				if v, err := rpcValue(c, r); err != nil || v != want {
					errs <- fmt.Errorf("B GetMetrics = %v, %v; want %v", v, err, want)
				}
				ctx, cancel := context.WithTimeout(context.Background(), slowBound)
				a, err := c.IsActive(ctx, r)
				cancel()
				if err != nil || !a.Result {
					errs <- fmt.Errorf("B IsActive = %v, %v; want true (%v items)", a, err, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return workers * each * 2
}

// TestSlowUpstreamDoesNotDelayOthersOverGRPC: through the real gRPC API,
// a pod (upstream A) whose responses hang does not delay GetMetrics or
// IsActive for a trigger on a real Redis (upstream B): while A's handler
// holds a request it has not answered, every RPC for B completes with the
// exact list length, and B's value follows the list. A's trigger is
// Unavailable naming A once its poll times out — never 0 — and the first
// poll after A answers again serves its value. Hanging polls cost no
// goroutine or connection per poll. Ordering, not timing, is asserted:
// waits are bounded only to fail.
func TestSlowUpstreamDoesNotDelayOthersOverGRPC(t *testing.T) {
	rs := testredis.Start(t, testredis.Config{})
	const listLen = 37
	for i := range listLen {
		rs.Do("RPUSH", "jobs", i)
	}
	a := newSlowTarget(t)
	// A is scraped every 1.2 s; its poll is cut by the engine's poll
	// timeout (1 s) before the scrape's own timeout (1.2 s). B is polled
	// every 100 ms; the 1 s timeout leaves its Redis polls room on a loaded
	// CI machine.
	h := startSlowServer(t, sources.Options{PollInterval: 100 * time.Millisecond, PollTimeout: time.Second})
	refA := &pb.ScaledObjectRef{Name: "a", Namespace: "ns", ScalerMetadata: map[string]string{
		"scalerAddress": "tide:9090", "source": "inference", "targets": a.srv.URL + "/metrics",
		"targetWaiting": "1", "scrapeInterval": "1200ms"}}
	refB := &pb.ScaledObjectRef{Name: "b", Namespace: "ns", ScalerMetadata: map[string]string{
		"scalerAddress": "tide:9090", "source": "redis", "address": rs.Addr, "listName": "jobs", "listLength": "5"}}
	nameA := "scrape://" + strings.TrimPrefix(a.srv.URL, "http://")

	// Both triggers serve their values; let a few polls of each run.
	if v, err := rpcValue(h.client, refA); err != nil || v != slowWaiting {
		t.Fatalf("A GetMetrics = %v, %v; want %d", v, err, slowWaiting)
	}
	mustServeB(t, h.client, refB, listLen)
	// The baseline is the fewest goroutines seen over three polls of A:
	// the steady state between polls, not a moment with a poll in flight.
	hits, gBase := a.hits.Load(), runtime.NumGoroutine()
	eventually(t, "three more polls of A", func() bool {
		gBase = min(gBase, runtime.NumGoroutine())
		return a.hits.Load() >= hits+3
	})
	if v, err := rpcValue(h.client, refA); err != nil || v != slowWaiting {
		t.Fatalf("A GetMetrics = %v, %v; want %d", v, err, slowWaiting)
	}
	cBase, _ := a.open()
	t.Logf("before the hang: %d goroutines, %d connections open to A", gBase, cBase)

	// A hangs. Once its handler holds a request, B is asked many times.
	hitsAtHang := a.hits.Load()
	a.hang()
	select {
	case <-a.pinned:
	case <-time.After(slowBound):
		t.Fatalf("A received no request within %s", slowBound)
	}
	served := mustServeB(t, h.client, refB, listLen)
	rs.Do("RPUSH", "jobs", "x", "y", "z", "u", "v")
	eventually(t, "B to follow the list to 42 while A hangs", func() bool {
		v, err := rpcValue(h.client, refB)
		return err == nil && v == listLen+5
	})
	served += mustServeB(t, h.client, refB, listLen+5)
	select {
	case <-a.pinnedDone:
		t.Fatal("A's hung handler returned before the test released it")
	default:
	}
	if a.blocked.Load() < 1 {
		t.Fatal("no handler of A is blocked")
	}
	t.Logf("%d RPCs for B answered exactly while A's first hung request stayed unanswered", served)

	// A's trigger: the last good value until its poll times out, then
	// Unavailable naming A, never a value, until A answers again.
	sawUnavailable := false
	eventually(t, "A Unavailable after its poll timed out", func() bool {
		v, err := rpcValue(h.client, refA)
		switch {
		case status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), nameA):
			sawUnavailable = true
			return true
		case err != nil || v != slowWaiting:
			t.Fatalf("A GetMetrics while its first hung poll runs = %v, %v; want %d or Unavailable naming %s",
				v, err, slowWaiting, nameA)
		}
		return false
	})
	mustUnavailable := func(when string) {
		t.Helper()
		v, err := rpcValue(h.client, refA)
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), nameA) {
			t.Fatalf("A GetMetrics %s = %v, %v; want Unavailable naming %s", when, v, err, nameA)
		}
		ctx, cancel := context.WithTimeout(context.Background(), slowBound)
		defer cancel()
		if act, err := h.client.IsActive(ctx, refA); status.Code(err) != codes.Unavailable {
			t.Fatalf("A IsActive %s = %v, %v; want Unavailable", when, act, err)
		}
	}

	// Many hung polls of A: goroutines and connections stay within a
	// small constant of the baseline, whatever the number of polls.
	const gSlack, cSlack = 8, 2
	var gHang, cHang [2]int
	for round := range 2 {
		from := a.hits.Load()
		eventually(t, "five more hung polls of A", func() bool { return a.hits.Load() >= from+5 })
		mustUnavailable("while A hangs")
		served += mustServeB(t, h.client, refB, listLen+5)
		gHang[round] = settleAtMost(t, "goroutines while A hangs", gBase+gSlack, runtime.NumGoroutine)
		cHang[round] = settleAtMost(t, "connections open to A while it hangs", cBase+cSlack, func() int { n, _ := a.open(); return n })
	}
	select {
	case <-a.pinnedDone:
		t.Fatal("A's hung handler returned before the test released it")
	default:
	}
	_, accepted := a.open()
	t.Logf("after %d hung requests to A: goroutines %v, connections open %v (accepted %d in all)",
		a.hits.Load()-hitsAtHang, gHang, cHang, accepted)

	// A answers again: the first poll that gets an answer serves its
	// value. Once A has received the request after that one, the poll
	// that carried it has recorded.
	a.unhang()
	<-a.pinnedDone
	eventually(t, "A to receive a request after it answers again", func() bool { return a.firstGood.Load() > 0 })
	first := a.firstGood.Load()
	eventually(t, "the poll after A's first answer", func() bool { return a.hits.Load() > first })
	if v, err := rpcValue(h.client, refA); err != nil || v != slowWaiting {
		t.Fatalf("A GetMetrics after its first answered poll = %v, %v; want %d", v, err, slowWaiting)
	}
	served += mustServeB(t, h.client, refB, listLen+5)
	gAfter := settleAtMost(t, "goroutines after A recovered", gBase+2, runtime.NumGoroutine)
	cAfter := settleAtMost(t, "connections open to A after it recovered", cBase, func() int { n, _ := a.open(); return n })
	t.Logf("after recovery: %d goroutines (baseline %d), %d connections open to A (baseline %d); %d RPCs for B in all; A Unavailable seen: %t",
		gAfter, gBase, cAfter, cBase, served, sawUnavailable)
}
