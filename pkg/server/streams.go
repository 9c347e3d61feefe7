package server

import (
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// StreamIsActive pushes activation from the cache update: a `true` reaches
// KEDA within one poll of the data changing, not one pollingInterval later.
// It sends the current state when the first sample is known, every change
// after that, and repeats `true` every StreamRepeat while active. KEDA
// ignores `false` (scale-in always comes from polling), but sending it keeps
// the stream honest for other clients. A client connection holds at most
// MaxStreamsPerClient of them; one more is ResourceExhausted.
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
			}
		case <-repeat.C:
			repeat.Reset(s.cfg.StreamRepeat)
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
