package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

const namespace = "load"

func ref(t trigger) *pb.ScaledObjectRef {
	return &pb.ScaledObjectRef{Name: t.name, Namespace: namespace, ScalerMetadata: t.md}
}

// getMetrics asks for one trigger's value and checks it when it is known.
func getMetrics(ctx context.Context, c pb.ExternalScalerClient, t trigger) (wrong bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref(t), MetricName: t.name})
	if err != nil {
		return false, err
	}
	if len(resp.GetMetricValues()) != 1 {
		return true, nil
	}
	return t.want >= 0 && resp.GetMetricValues()[0].GetMetricValueFloat() != t.want, nil
}

// warm asks every trigger once, as KEDA does when ScaledObjects appear, so
// that every trigger is parsed and every query has its first sample. A
// trigger that fails is retried a few times; the error is the last one of
// the triggers that never answered.
func warm(ctx context.Context, c pb.ExternalScalerClient, ts []trigger) (failed int, err error) {
	var mu sync.Mutex
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, t := range ts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var e error
			for attempt := range 5 {
				if attempt > 0 {
					time.Sleep(200 * time.Millisecond)
				}
				var wrong bool
				if wrong, e = getMetrics(ctx, c, t); e == nil && wrong {
					e = fmt.Errorf("%s: wrong value (want %g)", t.name, t.want)
				}
				if e == nil {
					return
				}
			}
			mu.Lock()
			failed, err = failed+1, e
			mu.Unlock()
		})
	}
	wg.Wait()
	return failed, err
}

// streamEnd is how one StreamIsActive stream ended.
type streamEnd struct {
	at  time.Time
	err error // io.EOF is status OK
}

// ok reports whether the stream ended with status OK.
func (e streamEnd) ok() bool { return errors.Is(e.err, io.EOF) || status.Code(e.err) == codes.OK }

// streamSet holds StreamIsActive streams open, reading every message.
type streamSet struct {
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	established atomic.Int64 // streams that received their first message
	messages    atomic.Int64
	rejected    atomic.Int64 // ResourceExhausted on open

	mu   sync.Mutex
	ends []streamEnd
}

// openStreams opens n streams over the connections in turn (stream i reads
// trigger i mod len(ts)) and returns once all received their first message,
// some ended, or the timeout passed.
func openStreams(conns []*grpc.ClientConn, ts []trigger, n int, timeout time.Duration) *streamSet {
	ctx, cancel := context.WithCancel(context.Background())
	s := &streamSet{cancel: cancel}
	first := make(chan struct{}, n)
	sem := make(chan struct{}, 256) // streams being created at once
	for i := range n {
		c := pb.NewExternalScalerClient(conns[i%len(conns)])
		t := ts[i%len(ts)]
		sem <- struct{}{}
		s.wg.Go(func() {
			opened, settled := false, false
			open := func() { // the stream exists (or failed): the next may open
				if !opened {
					opened = true
					<-sem
				}
			}
			settle := func() { // first message or end, whichever comes first
				open()
				if !settled {
					settled = true
					first <- struct{}{}
				}
			}
			err := s.hold(ctx, c, t, open, settle)
			s.mu.Lock()
			s.ends = append(s.ends, streamEnd{time.Now(), err})
			s.mu.Unlock()
			settle()
		})
	}
	deadline := time.After(timeout)
	for settled := 0; settled < n; settled++ {
		select {
		case <-first:
		case <-deadline:
			return s
		}
	}
	return s
}

// hold runs one stream until it ends; opened is called once the stream is
// created, established after its first message.
func (s *streamSet) hold(ctx context.Context, c pb.ExternalScalerClient, t trigger, opened, established func()) error {
	stream, err := c.StreamIsActive(ctx, ref(t))
	if err != nil {
		return err
	}
	opened()
	for {
		_, err := stream.Recv()
		if err != nil {
			if status.Code(err) == codes.ResourceExhausted {
				s.rejected.Add(1)
			}
			return err
		}
		if s.messages.Add(1); established != nil {
			s.established.Add(1)
			established()
			established = nil
		}
	}
}

// endsSoFar returns the streams that ended so far.
func (s *streamSet) endsSoFar() []streamEnd {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]streamEnd(nil), s.ends...)
}

// waitAll waits for every stream's goroutine, at most until timeout.
func (s *streamSet) waitAll(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// latencies are client-side call times of one kind of RPC.
type latencies struct {
	mu     sync.Mutex
	d      []time.Duration
	errs   int
	wrong  int
	sample error // one of the errors
}

func (l *latencies) add(d time.Duration, wrong bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err != nil:
		l.errs++
		l.sample = err
	case wrong:
		l.wrong++
	}
	l.d = append(l.d, d)
}

// pace asks GetMetrics of every trigger once per period, spread evenly (KEDA's
// HPA asks each metric every 15 s), and a grpc.health.v1 Check at the same
// rate on the same connection, open loop (every call in its own goroutine),
// for dur.
func pace(ctx context.Context, conn *grpc.ClientConn, ts []trigger, period, dur time.Duration) (gm, hc *latencies) {
	gm, hc = &latencies{}, &latencies{}
	c, h := pb.NewExternalScalerClient(conn), healthpb.NewHealthClient(conn)
	every := period / time.Duration(len(ts))
	start := time.Now()
	end := start.Add(dur)
	var wg sync.WaitGroup
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	next := 0 // the next slot to fire
	for now := start; now.Before(end); now = <-tick.C {
		if ctx.Err() != nil {
			break
		}
		for ; start.Add(time.Duration(next) * every).Before(now); next++ {
			t := ts[next%len(ts)]
			wg.Go(func() {
				t0 := time.Now()
				wrong, err := getMetrics(ctx, c, t)
				gm.add(time.Since(t0), wrong, err)
			})
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				t0 := time.Now()
				resp, err := h.Check(cctx, &healthpb.HealthCheckRequest{})
				wrong := err == nil && resp.GetStatus() != healthpb.HealthCheckResponse_SERVING
				hc.add(time.Since(t0), wrong, err)
			})
		}
	}
	wg.Wait()
	return gm, hc
}

func newScalerClient(conn *grpc.ClientConn) pb.ExternalScalerClient {
	return pb.NewExternalScalerClient(conn)
}

// describe names how a stream ended: its status code, or the error.
func describe(err error) string {
	if s, ok := status.FromError(err); ok {
		return s.Code().String()
	}
	return err.Error()
}
