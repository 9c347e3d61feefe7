package testredis

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Certs is a test CA with a server certificate for 127.0.0.1 and localhost
// and a client certificate, as PEM strings and as files.
type Certs struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey                     string
	CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile string
}

// NewCerts makes a fresh CA and certificates in a t.TempDir().
func NewCerts(t testing.TB) *Certs {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tide testredis CA"},
		NotBefore:             time.Unix(0, 0),
		NotAfter:              time.Unix(1<<33, 0),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, usage x509.ExtKeyUsage) (string, string) {
		k := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "localhost"},
			NotBefore:    time.Unix(0, 0),
			NotAfter:     time.Unix(1<<33, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			DNSNames:     []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf("CERTIFICATE", der), pemOf("EC PRIVATE KEY", kd)
	}
	c := &Certs{CA: pemOf("CERTIFICATE", caDER)}
	c.ServerCert, c.ServerKey = leaf(2, x509.ExtKeyUsageServerAuth)
	c.ClientCert, c.ClientKey = leaf(3, x509.ExtKeyUsageClientAuth)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c.CAFile = write("ca.pem", c.CA)
	c.ServerCertFile, c.ServerKeyFile = write("server.pem", c.ServerCert), write("server-key.pem", c.ServerKey)
	c.ClientCertFile, c.ClientKeyFile = write("client.pem", c.ClientCert), write("client-key.pem", c.ClientKey)
	return c
}

// ClientTLS trusts the CA and presents the client certificate.
func (c *Certs) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(c.CA))
	pair, _ := tls.X509KeyPair([]byte(c.ClientCert), []byte(c.ClientKey))
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

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

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}
