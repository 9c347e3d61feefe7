package testredis

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/testci"
)

// TestTLSSupported: the real redis-server serves TLS; a binary that exits
// at startup does not, whatever it prints (even the line a TLS build prints
// when told to listen nowhere), and the reason quotes its output.
func TestTLSSupported(t *testing.T) {
	t.Run("redis-server", func(t *testing.T) {
		if ok, why := TLSSupported(t); !ok {
			testci.Missing(t, "%s", why)
		}
	})
	for _, out := range []string{"Configured to not listen anywhere, exiting.", "Bad directive or wrong number of arguments"} {
		t.Run("exits: "+out, func(t *testing.T) {
			dir := t.TempDir()
			script := "#!/bin/sh\necho '" + out + "'\nexit 1\n"
			if err := os.WriteFile(filepath.Join(dir, "redis-server"), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
			ok, why := TLSSupported(t)
			if ok || !strings.Contains(why, out) {
				t.Errorf("TLSSupported = %v, %q; want false quoting %q", ok, why, out)
			}
		})
	}
}
