package main

import (
	"errors"
	"strings"

	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources"
)

// withoutURLCredentials wraps every parser so that a rejected metadata value
// holding a URL with credentials (scheme://user:password@host) is not echoed:
// the error keeps its key and reason, and drops the value. The inference
// source quotes such URLs without their userinfo itself (pkg/sources/inference
// shown); this guard is defence in depth for every source, in every path of
// this binary that parses triggers (gRPC, the external metrics API, explain).
func withoutURLCredentials(parsers map[string]server.Parser) map[string]server.Parser {
	for name, parse := range parsers {
		parsers[name] = func(md sources.Metadata) (server.Trigger, error) {
			tr, err := parse(md)
			var ce *sources.ConfigError
			if err != nil && errors.As(err, &ce) && holdsURLCredentials(ce.Value) {
				return nil, &sources.ConfigError{Key: ce.Key, Reason: ce.Reason}
			}
			return tr, err
		}
	}
	return parsers
}

// holdsURLCredentials reports whether v may hold user:password@ in a URL.
// It errs on the side of dropping: the values it matches were rejected, and
// may be malformed.
func holdsURLCredentials(v string) bool {
	return strings.Contains(v, "://") && strings.Contains(v, "@")
}
