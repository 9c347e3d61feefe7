package kafka

import (
	"crypto/tls"
	"testing"

	"github.com/tide-scaler/tide/internal/testpki"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, all PEM.
type testPKI struct {
	pki                                                 *testpki.PKI
	caPEM, serverCert, serverKey, clientCert, clientKey string
	// encryptedKey is clientKey as a legacy encrypted PEM block.
	encryptedKey, keyPassword string
}

func newPKI(t testing.TB) testPKI {
	t.Helper()
	ca := testpki.New(t)
	const password = "key-pass-SECRET-7"
	return testPKI{pki: ca, caPEM: ca.CA, serverCert: ca.ServerCert, serverKey: ca.ServerKey,
		clientCert: ca.ClientCert, clientKey: ca.ClientKey,
		encryptedKey: ca.EncryptedClientKey(t, password), keyPassword: password}
}

// serverTLS is the listener config for kfake.
func (p testPKI) serverTLS(t testing.TB) *tls.Config { return p.pki.ServerTLS(t) }

// clientTLS trusts the test CA, for the franz-go admin client.
func (p testPKI) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.pki.Pool(), MinVersion: tls.VersionTLS12}
}
