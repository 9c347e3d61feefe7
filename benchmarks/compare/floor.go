package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	pb "github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"google.golang.org/grpc"
)

// ImplFloor is an external scaler that does no work: every GetMetrics and
// IsActive answers a constant at once. Measured on KEDA's schedule like
// Tide, its latency is the floor of any external scaler on this machine
// (KEDA's two RPCs per observation over loopback gRPC), against which
// Tide's own cost and KEDA's in-process scalers can be read.
const ImplFloor = "external-floor"

// floorServer answers every RPC with a constant.
type floorServer struct {
	pb.UnimplementedExternalScalerServer
}

func (floorServer) IsActive(context.Context, *pb.ScaledObjectRef) (*pb.IsActiveResponse, error) {
	return &pb.IsActiveResponse{Result: true}, nil
}

func (floorServer) GetMetricSpec(context.Context, *pb.ScaledObjectRef) (*pb.GetMetricSpecResponse, error) {
	return &pb.GetMetricSpecResponse{MetricSpecs: []*pb.MetricSpec{{MetricName: "floor", TargetSizeFloat: 10}}}, nil
}

func (floorServer) GetMetrics(_ context.Context, req *pb.GetMetricsRequest) (*pb.GetMetricsResponse, error) {
	return &pb.GetMetricsResponse{MetricValues: []*pb.MetricValue{{MetricName: req.GetMetricName(), MetricValueFloat: 25}}}, nil
}

// floorCmd serves the floor scaler on -grpc-addr until it is stopped.
func floorCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	addr := fs.String("grpc-addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := grpc.NewServer()
	pb.RegisterExternalScalerServer(s, floorServer{})
	go func() { <-ctx.Done(); s.Stop() }()
	if err := s.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// startFloor starts `self floor` on a free port and waits until it accepts.
func startFloor(ctx context.Context, self string) (*child, string, error) {
	addr, err := freePort()
	if err != nil {
		return nil, "", err
	}
	c, err := startChild("floor", io.Discard, os.Stderr, self, "floor", "-grpc-addr", addr)
	if err != nil {
		return nil, "", err
	}
	for range 400 {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			return c, addr, nil
		}
		select {
		case <-c.done:
			return nil, "", fmt.Errorf("floor exited: %v", c.err)
		case <-ctx.Done():
			c.stop()
			return nil, "", ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	c.stop()
	return nil, "", errors.New("floor not listening after 10s")
}
