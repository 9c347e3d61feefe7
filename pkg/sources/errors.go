package sources

import (
	"errors"
	"fmt"
)

// ConfigError is invalid trigger metadata. It names the key and the bad value
// so a user can fix the ScaledObject without reading our code.
type ConfigError struct {
	Key    string
	Value  string
	Reason string
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("metadata key %q: %s", e.Key, e.Reason)
	}
	return fmt.Sprintf("metadata key %q: bad value %q: %s", e.Key, e.Value, e.Reason)
}

// Invalid returns a ConfigError.
func Invalid(key, value, reason string, args ...any) error {
	return &ConfigError{Key: key, Value: value, Reason: fmt.Sprintf(reason, args...)}
}

// ErrNotFound marks a reading that failed because the thing it reads does not
// exist (a topic, a stream, a consumer group), as opposed to an upstream that
// cannot be reached. Wrap it with the name of what is missing.
var ErrNotFound = errors.New("not found")

// ErrUnavailable marks a reading that could not be taken or is too old to
// serve. The engine wraps every failed reading with it and the upstream name.
var ErrUnavailable = errors.New("unavailable")
