package testredis

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/testpki"
)

// Certs is a test CA with server and client certificates (see testpki).
type Certs = testpki.PKI

// NewCerts makes a fresh CA and certificates in a t.TempDir().
func NewCerts(t testing.TB) *Certs { return testpki.New(t) }

// TLSSupported reports whether this redis-server was built with TLS, and
// why not. A build without it rejects the tls-port directive at startup.
func TLSSupported(t testing.TB) (bool, string) {
	t.Helper()
	requireBinary(t, "redis-server")
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "redis-server", "--port", "0", "--tls-port", "0", "--save", "").CombinedOutput()
	if strings.Contains(string(out), "Configured to not listen anywhere") {
		return true, ""
	}
	return false, "redis-server was built without TLS: " + strings.TrimSpace(lastLine(string(out)))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
