package server

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// openActiveStream opens a StreamIsActive stream and waits for its first
// message, which the server sends only once the stream is counted and
// watching. It returns the stream's cancel, or the error the stream ended
// with.
func openActiveStream(t *testing.T, c pb.ExternalScalerClient) (context.CancelFunc, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stream, err := c.StreamIsActive(ctx, ref("queue", "jobs"))
	if err == nil {
		_, err = stream.Recv()
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
// MaxStreamsPerClient StreamIsActive streams; one more is ResourceExhausted
// naming the limit, other connections keep their own budget, and a stream
// that ends frees its slot.
func TestStreamsPerClientLimit(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		open  int // streams that must all be accepted
	}{
		{"limit 1", 1, 1},
		{"limit 3", 3, 3},
		{"no limit", 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startServerWith(t, func(sc *ServiceConfig) { sc.MaxStreamsPerClient = tc.limit })
			h.src.set("jobs", 0)
			var held []context.CancelFunc
			for i := range tc.open {
				cancel, err := openActiveStream(t, h.client)
				if err != nil {
					t.Fatalf("stream %d of %d: %v; want accepted", i+1, tc.open, err)
				}
				held = append(held, cancel)
			}
			if tc.limit == 0 {
				return
			}

			_, err := openActiveStream(t, h.client)
			if status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("stream %d: %v; want ResourceExhausted", tc.limit+1, err)
			}
			msg := status.Convert(err).Message()
			for _, want := range []string{"per-client stream limit", strconv.Itoa(tc.limit), "StreamIsActive"} {
				if !strings.Contains(msg, want) {
					t.Errorf("rejection %q does not mention %q", msg, want)
				}
			}

			other := newClient(t, h)
			for i := range tc.limit {
				if _, err := openActiveStream(t, other); err != nil {
					t.Fatalf("other client's stream %d while the first is at its limit: %v", i+1, err)
				}
			}

			held[0]() // KEDA closes one stream
			waitFor(t, "the ended stream's slot to accept a new stream", func() bool {
				_, err := openActiveStream(t, h.client)
				if err != nil && status.Code(err) != codes.ResourceExhausted {
					t.Fatalf("new stream after one ended: %v", err)
				}
				return err == nil
			})
			if _, err := openActiveStream(t, h.client); status.Code(err) != codes.ResourceExhausted {
				t.Errorf("back at the limit: %v; want ResourceExhausted", err)
			}
		})
	}
}
