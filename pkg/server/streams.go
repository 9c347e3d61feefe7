package server

import (
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// StreamIsActive pushes activation from the cache update: a `true` reaches
// KEDA within one poll of the data changing, not one pollingInterval later.
// It sends the current state when the first sample is known and every
// change after that. While active it repeats `true`, at most StreamRepeat
// after the change and then ever less often (see repeatWait), so 10,000
// streams that stay active send ~220 messages a second, not 2,000. KEDA ignores `false` (scale-in always comes from
// polling), but sending it keeps the stream honest for other clients. A
// client connection holds at most MaxStreamsPerClient of them; one more is
// ResourceExhausted.
func (s *Service) StreamIsActive(ref *pb.ScaledObjectRef, stream grpc.ServerStreamingServer[pb.IsActiveResponse]) error {
	// The per-client limit comes first: a rejected stream parses nothing,
	// watches nothing and holds no ticker.
	release, err := s.activeStreams.acquire(stream.Context())
	if err != nil {
		return toStatus(err)
	}
	defer release()
	t, err := s.trigger(ref)
	if err != nil {
		return toStatus(err)
	}
	updates, stop, err := s.cfg.Triggers.Watch(t)
	if err != nil {
		return toStatus(err)
	}
	defer stop()
	gauge := s.cfg.Metrics.Streams.WithLabelValues("StreamIsActive")
	gauge.Inc()
	defer gauge.Dec()

	ctx := stream.Context()
	// Streams opened together (KEDA reconnecting after a restart) would
	// repeat in lockstep, a burst of one message per stream every period; a
	// random first delay spreads their repeats over the period.
	repeat := time.NewTimer(1 + rand.N(s.cfg.StreamRepeat))
	defer repeat.Stop()
	gap := s.cfg.StreamRepeat // the next repeat's bound
	known, active := false, false
	send := func(v bool) error {
		known, active = true, v
		return stream.Send(&pb.IsActiveResponse{Result: v})
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.drain:
			return nil // status OK: KEDA reconnects without backoff
		case <-updates:
			s.cfg.Triggers.Touch(t, s.cfg.Now())
			r, err := s.cfg.Triggers.Read(ctx, t)
			if err != nil {
				// No answer is better than a false one; polling will surface the error.
				s.cfg.Logger.Debug("StreamIsActive: no sample", "namespace", ref.GetNamespace(),
					"scaledobject", ref.GetName(), "err", err)
				continue
			}
			s.observe(ref, t, r)
			if !known || r.Active != active {
				if err := send(r.Active); err != nil {
					return err
				}
				if r.Active { // repeats start over from StreamRepeat
					var wait time.Duration
					wait, gap = repeatWait(s.cfg.StreamRepeat, s.cfg.StreamRepeat, s.cfg.StreamRepeatMax, rand.N[time.Duration])
					repeat.Reset(wait)
				}
			}
		case <-repeat.C:
			var wait time.Duration
			wait, gap = repeatWait(gap, s.cfg.StreamRepeat, s.cfg.StreamRepeatMax, rand.N[time.Duration])
			repeat.Reset(wait)
			if active {
				if err := send(true); err != nil {
					return err
				}
			}
		}
	}
}

// StreamMetricSpec sends the spec as soon as the stream opens. A trigger's
// spec is a pure function of its metadata, and KEDA opens a new stream when
// the metadata changes, so there is nothing further to send; the stream
// stays open until KEDA closes it or the server drains. A client connection
// holds at most MaxStreamsPerClient of them; one more is ResourceExhausted.
func (s *Service) StreamMetricSpec(ref *pb.ScaledObjectRef, stream grpc.ServerStreamingServer[pb.GetMetricSpecResponse]) error {
	// As in StreamIsActive, a rejected stream parses nothing.
	release, err := s.specStreams.acquire(stream.Context())
	if err != nil {
		return toStatus(err)
	}
	defer release()
	t, err := s.trigger(ref)
	if err != nil {
		return toStatus(err)
	}
	gauge := s.cfg.Metrics.Streams.WithLabelValues("StreamMetricSpec")
	gauge.Inc()
	defer gauge.Dec()
	if err := stream.Send(specOf(t)); err != nil {
		return err
	}
	touch := time.NewTicker(time.Minute)
	defer touch.Stop()
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case <-s.drain:
			return nil
		case <-touch.C:
			s.cfg.Triggers.Touch(t, s.cfg.Now()) // an open stream keeps its trigger cached
		}
	}
}

// repeatWait is the wait before the next repeat when it is due within gap:
// random in [gap/2, gap], so that streams that became active together do
// not repeat together, and the gap after it, doubled up to most (never
// below least). randN(n) returns a value in [0, n).
func repeatWait(gap, least, most time.Duration, randN func(time.Duration) time.Duration) (wait, next time.Duration) {
	gap = min(max(gap, least), most)
	half := gap / 2
	wait = gap - half + randN(half+1)
	return wait, min(2*gap, most)
}
