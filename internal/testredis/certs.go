package testredis

import (
	"fmt"
	"testing"

	"github.com/tide-scaler/tide/internal/testpki"
)

// Certs is a test CA with server and client certificates (see testpki).
type Certs = testpki.PKI

// NewCerts makes a fresh CA and certificates in a t.TempDir().
func NewCerts(t testing.TB) *Certs { return testpki.New(t) }

// TLSSupported reports whether this redis-server serves TLS, and why not:
// it starts one TLS-only with fresh test certificates and pings it over
// TLS, then stops it. A build without TLS rejects the tls-port directive
// and exits; why holds the end of its log. Nothing depends on the log's
// wording.
func TLSSupported(t testing.TB) (bool, string) {
	t.Helper()
	s := newServer(t, Config{TLS: NewCerts(t)}, func(s *Server, port int) []string { return s.baseArgs(port) })
	defer s.Stop()
	if err := s.tryLaunchFree(); err != nil {
		return false, fmt.Sprintf("redis-server does not serve TLS (Debian's is built with it): %v", err)
	}
	return true, ""
}
