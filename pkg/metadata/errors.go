package metadata

import (
	"fmt"
	"strings"
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

// SecretError reports a bad credential without its value: the key it came
// from (key, keyFromEnv or keyFile, as Secret reads them) and, for a file,
// the file's path.
func (m Metadata) SecretError(key, reason string, args ...any) error {
	from, value := key, ""
	switch {
	case m[key] != "":
	case m[key+"FromEnv"] != "":
		from = key + "FromEnv"
	case strings.TrimSpace(m[key+"File"]) != "":
		from, value = key+"File", strings.TrimSpace(m[key+"File"])
	}
	return Invalid(from, value, reason, args...)
}

// SecretKeys are the keys Secret reads for key: the value itself, the value
// KEDA resolved from the workload's environment, and a file the scaler reads.
func SecretKeys(key string) []string { return []string{key, key + "FromEnv", key + "File"} }
