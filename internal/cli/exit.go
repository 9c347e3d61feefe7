package cli

import (
	"context"
	"errors"
	"flag"

	"google.golang.org/grpc/codes"

	"github.com/tide-scaler/tide/pkg/server"
)

// The exit codes of Tide's commands. They are documented in `scaler -h`
// (ExitCodesHelp) and the README.
const (
	ExitOK             = 0 // done, or -h/--help
	ExitError          = 1 // anything else: a port in use, an unreadable file, a cluster error
	ExitUsage          = 2 // a bad command, flag or flag value
	ExitInvalidTrigger = 3 // the trigger's metadata is invalid (what KEDA gets as InvalidArgument)
	ExitUnavailable    = 4 // the upstream could not be read (what KEDA gets as Unavailable or NotFound)
)

// ExitCodesHelp is the exit code table the commands print in their help.
const ExitCodesHelp = `exit codes:
  0  done, or -h/--help
  1  any other error (a port in use, an unreadable file, a cluster error)
  2  usage: an unknown command, flag or argument, or a bad flag value
  3  invalid trigger: the metadata is refused (KEDA would get InvalidArgument)
  4  upstream unavailable: the trigger is valid but its upstream could not be
     read (KEDA would get Unavailable or NotFound)
`

// UsageError is a bad command line: an unknown command or flag, a stray
// argument or a flag value out of range.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err, when not nil, as a usage error.
func Usage(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &UsageError{Err: err}
}

// triggerError is an error of parsing or reading a trigger; ExitCode
// classifies it as the gRPC server does (server.Code).
type triggerError struct{ err error }

func (e *triggerError) Error() string { return e.err.Error() }
func (e *triggerError) Unwrap() error { return e.err }

// TriggerError marks err, when not nil, as the outcome of parsing or
// reading a trigger, so that ExitCode tells invalid metadata from an
// unavailable upstream exactly as the gRPC server does.
func TriggerError(err error) error {
	if err == nil {
		return nil
	}
	return &triggerError{err: err}
}

// ExitCode is the process exit code for what a command returned.
func ExitCode(err error) int {
	var ue *UsageError
	var te *triggerError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &te):
		switch server.Code(te.err) {
		case codes.InvalidArgument:
			return ExitInvalidTrigger
		case codes.Unavailable, codes.NotFound:
			if errors.Is(te.err, context.Canceled) {
				return ExitError
			}
			return ExitUnavailable
		}
	}
	return ExitError
}
