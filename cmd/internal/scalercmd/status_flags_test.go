package scalercmd

import (
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/cli"
)

// TestStatusPageFlags: serve has the page by default and not with
// --status-page=false; --status-history and --status-step are refused when
// not positive or when they make more than maxStatusPoints points, naming
// both flags.
func TestStatusPageFlags(t *testing.T) {
	on := startServe(t)
	if code, body, err := httpCall(t, nil, on.HTTPAddr(), "GET", "/status", "", ""); err != nil || code != http.StatusOK || !strings.Contains(body, "<h1>Tide status</h1>") {
		t.Errorf("default: GET /status %d %.80q %v; want the page", code, body, err)
	}
	off := startServe(t, "--status-page=false")
	if code, _, err := httpCall(t, nil, off.HTTPAddr(), "GET", "/status", "", ""); err != nil || code != http.StatusNotFound {
		t.Errorf("--status-page=false: GET /status %d %v; want 404", code, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--status-step", "0s"}, "--status-history 3h0m0s and --status-step 0s: must be positive"},
		{[]string{"--status-history", "-1h"}, "must be positive"},
		{[]string{"--status-history", "24h", "--status-step", "1s"}, "--status-history 24h0m0s / --status-step 1s is 86400 points: want 1 to 1440"},
		{[]string{"--status-history", "1s", "--status-step", "1m"}, "is 0 points: want 1 to 1440"},
	} {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var cfg serveConfig
		cfg.register(fs)
		if err := cli.ParseFlags(fs, tc.args, env(nil), io.Discard, ""); err != nil {
			t.Fatal(err)
		}
		if err := cfg.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v; want an error containing %q", tc.args, err, tc.want)
		}
	}
}
