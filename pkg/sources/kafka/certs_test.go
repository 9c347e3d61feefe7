package kafka

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
	"testing"
	"time"
)

// testPKI is a CA with a server certificate for 127.0.0.1 and a client
// certificate, all PEM.
type testPKI struct {
	caPEM, serverCert, serverKey, clientCert, clientKey string
	// encryptedKey is clientKey as a legacy encrypted PEM block.
	encryptedKey, keyPassword string
}

func newPKI(t testing.TB) testPKI {
	t.Helper()
	caKey := mustKey(t)
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
	ca, _ := x509.ParseCertificate(caDER)
	leaf := func(serial int64, usage x509.ExtKeyUsage) (string, string, *ecdsa.PrivateKey) {
		k := mustKey(t)
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
		kd, _ := x509.MarshalECPrivateKey(k)
		return pemOf("CERTIFICATE", der), pemOf("EC PRIVATE KEY", kd), k
	}
	var p testPKI
	p.caPEM = pemOf("CERTIFICATE", caDER)
	p.serverCert, p.serverKey, _ = leaf(2, x509.ExtKeyUsageServerAuth)
	var ck *ecdsa.PrivateKey
	p.clientCert, p.clientKey, ck = leaf(3, x509.ExtKeyUsageClientAuth)
	p.keyPassword = "key-pass-SECRET-7"
	kd, _ := x509.MarshalECPrivateKey(ck)
	//lint:ignore SA1019 the legacy format is what keyPassword supports
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", kd, []byte(p.keyPassword), x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	p.encryptedKey = string(pem.EncodeToMemory(block))
	return p
}

// serverTLS is the listener config for kfake.
func (p testPKI) serverTLS(t testing.TB) *tls.Config {
	pair, err := tls.X509KeyPair([]byte(p.serverCert), []byte(p.serverKey))
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

// clientTLS trusts the test CA, for the franz-go admin client.
func (p testPKI) clientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(p.caPEM))
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}
