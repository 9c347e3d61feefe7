package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/pkg/sources"
)

// toStatus maps an error to a gRPC status. It is the only place that does:
// everything below the server returns plain wrapped errors.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var ce *sources.ConfigError
	var le *limitError
	code := codes.Unavailable
	switch {
	case errors.As(err, &ce):
		code = codes.InvalidArgument
	case errors.As(err, &le):
		code = codes.ResourceExhausted
	case errors.Is(err, sources.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

// limitError is a request rejected because it exceeds a configured limit.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }
