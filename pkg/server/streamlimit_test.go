package server

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// streamingRPCs are the service's server-streaming RPCs.
var streamingRPCs = []string{"StreamIsActive", "StreamMetricSpec"}

// openStream opens a stream of rpc for r and waits for its first message,
// which the server sends only once the stream is counted. It returns the
// stream's cancel, or the error the stream ended with (Canceled when no
// first message came within 10 s).
func openStream(t *testing.T, c pb.ExternalScalerClient, rpc string, r *pb.ScaledObjectRef) (context.CancelFunc, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	giveUp := time.AfterFunc(10*time.Second, cancel)
	defer giveUp.Stop()
	var err error
	switch rpc {
	case "StreamIsActive":
		var s grpc.ServerStreamingClient[pb.IsActiveResponse]
		if s, err = c.StreamIsActive(ctx, r); err == nil {
			_, err = s.Recv()
		}
	case "StreamMetricSpec":
		var s grpc.ServerStreamingClient[pb.GetMetricSpecResponse]
		if s, err = c.StreamMetricSpec(ctx, r); err == nil {
			_, err = s.Recv()
		}
	default:
		t.Fatalf("no streaming RPC %q", rpc)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	t.Cleanup(cancel)
	return cancel, nil
}

// newClient is one more client connection (its own peer address).
func newClient(t *testing.T, h *harness) pb.ExternalScalerClient {
	t.Helper()
	conn, err := grpc.NewClient(h.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewExternalScalerClient(conn)
}

// TestStreamsPerClientLimit: a client connection holds at most
// MaxStreamsPerClient streams of each streaming RPC; one more is
// ResourceExhausted naming the RPC and the limit, even for metadata it
// would refuse (it parses nothing); the other RPC's budget, other
// connections and every unary RPC are unaffected, and a stream that ends
// frees its slot.
func TestStreamsPerClientLimit(t *testing.T) {
	for _, rpc := range streamingRPCs {
		for _, tc := range []struct {
			name  string
			limit int
			open  int // streams that must all be accepted
		}{
			{"limit 1", 1, 1},
			{"limit 3", 3, 3},
			{"no limit", 0, 10},
		} {
			t.Run(rpc+"/"+tc.name, func(t *testing.T) {
				testStreamLimit(t, rpc, tc.limit, tc.open)
			})
		}
	}
}

func testStreamLimit(t *testing.T, rpc string, limit, open int) {
	h := startServerWith(t, func(sc *ServiceConfig) { sc.MaxStreamsPerClient = limit })
	h.src.set("jobs", 0)
	jobs := ref("queue", "jobs")
	var held []context.CancelFunc
	for i := range open {
		cancel, err := openStream(t, h.client, rpc, jobs)
		if err != nil {
			t.Fatalf("stream %d of %d: %v; want accepted", i+1, open, err)
		}
		held = append(held, cancel)
	}
	if limit == 0 {
		return
	}

	_, err := openStream(t, h.client, rpc, jobs)
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stream %d: %v; want ResourceExhausted", limit+1, err)
	}
	msg := status.Convert(err).Message()
	for _, want := range []string{"per-client stream limit", strconv.Itoa(limit), rpc} {
		if !strings.Contains(msg, want) {
			t.Errorf("rejection %q does not mention %q", msg, want)
		}
	}
	// Metadata it would refuse: the limit answers before any parsing.
	if _, err := openStream(t, h.client, rpc, ref("queue", "jobs", "target", "abc")); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("invalid metadata over the limit: %v; want ResourceExhausted before parsing", err)
	}

	// The same connection's other streaming RPC and unary RPCs keep working.
	for _, other := range streamingRPCs {
		if other == rpc {
			continue
		}
		if _, err := openStream(t, h.client, other, jobs); err != nil {
			t.Errorf("%s on a connection at its %s limit: %v", other, rpc, err)
		}
	}
	if _, err := h.client.GetMetricSpec(t.Context(), jobs); err != nil {
		t.Errorf("GetMetricSpec on a connection at its stream limit: %v", err)
	}

	other := newClient(t, h)
	for i := range limit {
		if _, err := openStream(t, other, rpc, jobs); err != nil {
			t.Fatalf("other client's stream %d while the first is at its limit: %v", i+1, err)
		}
	}

	held[0]() // KEDA closes one stream
	waitFor(t, "the ended stream's slot to accept a new stream", func() bool {
		_, err := openStream(t, h.client, rpc, jobs)
		if err != nil && status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("new stream after one ended: %v", err)
		}
		return err == nil
	})
	if _, err := openStream(t, h.client, rpc, jobs); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("back at the limit: %v; want ResourceExhausted", err)
	}
}
