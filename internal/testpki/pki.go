// Package testpki makes throwaway certificate authorities for tests: a CA,
// a server certificate for 127.0.0.1 and localhost, and a client
// certificate, as PEM strings and as files in the test's temp dir.
package testpki

import (
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
	"path/filepath"
	"testing"
	"time"
)

// PKI is one test CA with its server and client certificates.
type PKI struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey                     string // PEM
	CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile string // the same, as files

	clientKey *ecdsa.PrivateKey
}

// New makes a fresh CA and certificates, valid for decades so that no test
// depends on the clock.
func New(t testing.TB) *PKI {
	t.Helper()
	return NewFor(t)
}

// NewFor is New with a server certificate that also names dnsNames (a
// Service's DNS names, say).
func NewFor(t testing.TB, dnsNames ...string) *PKI {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "tide test CA"},
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
	leaf := func(serial int64, usage x509.ExtKeyUsage, names ...string) (string, string, *ecdsa.PrivateKey) {
		k := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "localhost"},
			NotBefore:    time.Unix(0, 0),
			NotAfter:     time.Unix(1<<33, 0),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			DNSNames:     append([]string{"localhost"}, names...),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kd, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pemOf("CERTIFICATE", der), pemOf("EC PRIVATE KEY", kd), k
	}
	p := &PKI{CA: pemOf("CERTIFICATE", caDER)}
	p.ServerCert, p.ServerKey, _ = leaf(2, x509.ExtKeyUsageServerAuth, dnsNames...)
	p.ClientCert, p.ClientKey, p.clientKey = leaf(3, x509.ExtKeyUsageClientAuth)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.CAFile = write("ca.pem", p.CA)
	p.ServerCertFile, p.ServerKeyFile = write("server.pem", p.ServerCert), write("server-key.pem", p.ServerKey)
	p.ClientCertFile, p.ClientKeyFile = write("client.pem", p.ClientCert), write("client-key.pem", p.ClientKey)
	return p
}

// Pool trusts the CA.
func (p *PKI) Pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(p.CA))
	return pool
}

// ClientPair is the client certificate and key.
func (p *PKI) ClientPair(t testing.TB) tls.Certificate {
	t.Helper()
	pair, err := tls.X509KeyPair([]byte(p.ClientCert), []byte(p.ClientKey))
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// ClientTLS trusts the CA and presents the client certificate.
func (p *PKI) ClientTLS(t testing.TB) *tls.Config {
	return &tls.Config{RootCAs: p.Pool(), Certificates: []tls.Certificate{p.ClientPair(t)}, MinVersion: tls.VersionTLS12}
}

// ServerTLS serves the server certificate.
func (p *PKI) ServerTLS(t testing.TB) *tls.Config {
	t.Helper()
	pair, err := tls.X509KeyPair([]byte(p.ServerCert), []byte(p.ServerKey))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// EncryptedClientKey is the client key as a legacy (RFC 1423) encrypted PEM
// block, the only encrypted form KEDA's keyPassword reads.
func (p *PKI) EncryptedClientKey(t testing.TB, password string) string {
	t.Helper()
	kd, err := x509.MarshalECPrivateKey(p.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	//lint:ignore SA1019 the legacy format is what keyPassword supports
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", kd, []byte(password), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block))
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
