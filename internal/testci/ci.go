package testci

import (
	"fmt"
	"os"
	"strconv"
	"testing"
)

// Missing ends the test because a part it needs is missing, described by
// format and args (say what is missing and how to install it): a failure
// when the CI environment variable is set (to anything but a false value),
// a skip otherwise.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	missing(t, os.Getenv, format, args...)
}

func missing(t testing.TB, getenv func(string) string, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI(getenv) {
		t.Fatalf("%s (CI=%s: a missing part fails the test, it never skips)", msg, getenv("CI"))
		return
	}
	t.Skip(msg)
}

// CI reports whether getenv("CI") marks a CI run: set, and not a false
// value ("false", "0").
func CI(getenv func(string) string) bool {
	v := getenv("CI")
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err != nil || b
}
