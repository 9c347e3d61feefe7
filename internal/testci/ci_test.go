package testci

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a test ended instead of ending.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skip(args ...any)                  { r.skip = fmt.Sprint(args...) }

// TestMissing: a missing part fails the test under CI and skips it
// elsewhere, with the reason either way.
func TestMissing(t *testing.T) {
	for _, tc := range []struct {
		ci   string
		fail bool
	}{
		{"", false}, {"false", false}, {"0", false},
		{"true", true}, {"1", true}, {"yes", true}, {"TRUE", true},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			r := &recorder{TB: t}
			missing(r, func(k string) string {
				if k == "CI" {
					return tc.ci
				}
				return ""
			}, "redis-server %s is too old", "6.2")
			got, other := r.skip, r.fatal
			if tc.fail {
				got, other = r.fatal, r.skip
			}
			if !strings.Contains(got, "redis-server 6.2 is too old") || other != "" {
				t.Errorf("fatal %q, skip %q; want only a %s naming the part", r.fatal, r.skip, map[bool]string{true: "failure", false: "skip"}[tc.fail])
			}
			if tc.fail && !strings.Contains(r.fatal, "CI="+tc.ci) {
				t.Errorf("failure %q does not say CI is set", r.fatal)
			}
		})
	}
}
