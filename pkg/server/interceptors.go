package server

import (
	"context"
	"path"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/pkg/metrics"
)

// unaryMetrics counts and times unary RPCs by method and status code.
func unaryMetrics(m *metrics.Metrics) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		method := path.Base(info.FullMethod)
		m.RPCDuration.WithLabelValues(method).Observe(time.Since(start).Seconds())
		m.RPCs.WithLabelValues(method, status.Code(err).String()).Inc()
		return resp, err
	}
}

// streamMetrics counts streaming RPCs by method and final status code.
func streamMetrics(m *metrics.Metrics) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		err := h(srv, ss)
		m.RPCs.WithLabelValues(path.Base(info.FullMethod), status.Code(err).String()).Inc()
		return err
	}
}
