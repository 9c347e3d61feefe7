package metadata

import (
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Metadata is a trigger's scalerMetadata with typed, validating getters.
// Every getter returns a *ConfigError naming the key and the bad value.
//
// KEDA resolves keys ending in "FromEnv" to the value of that environment
// variable of the scaled workload before calling us, so a secret such as
// "password" may arrive as "passwordFromEnv". Files.Secret reads "key",
// then "keyFromEnv", then the file named by "keyFile" (read by the scaler
// itself, under the operator's policy).
type Metadata map[string]string

// Has reports whether key is set to a non-empty value.
func (m Metadata) Has(key string) bool { return strings.TrimSpace(m[key]) != "" }

// String returns the trimmed value of key, or def when unset or empty.
func (m Metadata) String(key, def string) string {
	if v := strings.TrimSpace(m[key]); v != "" {
		return v
	}
	return def
}

// Required returns the trimmed value of key or an error when it is unset.
func (m Metadata) Required(key string) (string, error) {
	v := strings.TrimSpace(m[key])
	if v == "" {
		return "", &ConfigError{Key: key, Reason: "is required"}
	}
	return v, nil
}

// List splits a comma-separated value into trimmed, non-empty items.
func (m Metadata) List(key string) []string {
	var out []string
	for _, s := range strings.Split(m[key], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Bool parses key as a boolean, def when unset.
func (m Metadata) Bool(key string, def bool) (bool, error) {
	v := strings.TrimSpace(m[key])
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, Invalid(key, v, "want true or false")
	}
	return b, nil
}

// Int parses key as an integer >= min, def when unset.
func (m Metadata) Int(key string, def, min int64) (int64, error) {
	v := strings.TrimSpace(m[key])
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, Invalid(key, v, "want an integer")
	}
	if n < min {
		return 0, Invalid(key, v, "must be at least %d", min)
	}
	return n, nil
}

// Float parses key as a finite number, def when unset. With positive set the
// value must be > 0, otherwise >= 0.
func (m Metadata) Float(key string, def float64, positive bool) (float64, error) {
	v := strings.TrimSpace(m[key])
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, Invalid(key, v, "want a number")
	}
	switch {
	case positive && f <= 0:
		return 0, Invalid(key, v, "must be greater than 0")
	case f < 0:
		return 0, Invalid(key, v, "must not be negative")
	}
	return f, nil
}

// Duration parses key as a Go duration ("30s", "1m30s") in [lo, hi], def
// when unset. A bare number counts in bareUnit, since users copy seconds
// from KEDA's integer keys.
func (m Metadata) Duration(key string, def, bareUnit, lo, hi time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(m[key])
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(f) {
			return 0, Invalid(key, v, "want a duration such as 60s or 800ms")
		}
		// Clamp before converting: a huge number must not wrap around.
		d = time.Duration(max(-1, min(f*float64(bareUnit), float64(hi)+1)))
	}
	if d < lo || d > hi {
		return 0, Invalid(key, v, "must be between %s and %s", lo, hi)
	}
	return d, nil
}

// Enum returns the value of key, which must be one of allowed (compared
// case-insensitively and returned in the allowed spelling), def when unset.
func (m Metadata) Enum(key, def string, allowed ...string) (string, error) {
	v := strings.TrimSpace(m[key])
	if v == "" {
		return def, nil
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a, nil
		}
	}
	return "", Invalid(key, v, "want one of %s", strings.Join(allowed, ", "))
}

// unwrapPathError drops the path from an *os.PathError; the caller already
// names it.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
