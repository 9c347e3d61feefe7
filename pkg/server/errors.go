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

// toStatus maps an error to a gRPC status. It and Code are the only places
// that classify errors: everything below the server returns plain wrapped
// errors.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(Code(err), err.Error())
}

// Code is the gRPC code the server answers err with: InvalidArgument for
// bad trigger metadata, ResourceExhausted for a limit, NotFound, Canceled,
// and Unavailable for everything else (the upstream failed). The command
// line maps its exit codes from it (internal/cli.ExitCode).
func Code(err error) codes.Code {
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	var ce *metadata.ConfigError
	var le *limitError
	var tl *trigger.LimitError
	switch {
	case errors.As(err, &ce):
		return codes.InvalidArgument
	case errors.As(err, &le), errors.As(err, &tl):
		return codes.ResourceExhausted
	case errors.Is(err, sources.ErrNotFound):
		return codes.NotFound
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	}
	return codes.Unavailable
}

// limitError is a stream rejected because its client holds too many.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }
