package server

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
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
	var ce *metadata.ConfigError
	var le *limitError
	var tl *trigger.LimitError
	code := codes.Unavailable
	switch {
	case errors.As(err, &ce):
		code = codes.InvalidArgument
	case errors.As(err, &le), errors.As(err, &tl):
		code = codes.ResourceExhausted
	case errors.Is(err, sources.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

// limitError is a stream rejected because its client holds too many.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }
