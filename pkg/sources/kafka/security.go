package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// security is the parsed TLS and SASL configuration of a cluster.
type security struct {
	tls       *tls.Config // nil: plaintext connections
	unsafeSSL bool
	saslName  string // one of saslNames
	mechanism sasl.Mechanism
	// fingerprint is a short SHA-256 of every credential and of the
	// mechanism's settings (token URL, scopes, region), so that two
	// triggers that authenticate differently never share a client. ""
	// when there are none. It is not a secret's hash alone: it covers all
	// of them at once.
	fingerprint string
}

// describe is the part of the upstream key that says how we connect.
func (s security) describe() string {
	t := "tls=disable"
	if s.tls != nil {
		t = fmt.Sprintf("tls=enable,unsafeSsl=%t", s.unsafeSSL)
	}
	d := t + "|sasl=" + s.saslName
	if s.fingerprint != "" {
		d += "|cred=" + s.fingerprint
	}
	return d
}

func parseSecurity(md metadata.Metadata, pol sources.Policy) (security, error) {
	var s security
	creds := make([]string, 0, 6)
	for _, k := range secretKeys {
		v, err := pol.Secret(md, k)
		if err != nil {
			return s, err
		}
		creds = append(creds, v)
	}
	ca, cert, key, keyPassword, user, pass := creds[0], creds[1], creds[2], creds[3], creds[4], creds[5]
	var err error
	if s.tls, s.unsafeSSL, err = parseTLS(md, ca, cert, key, keyPassword); err != nil {
		return s, err
	}
	var ident []string
	if s.saslName, s.mechanism, ident, err = parseSASL(md, pol, user, pass, s.tls != nil); err != nil {
		return s, err
	}
	s.fingerprint = sources.Fingerprint(append(creds, ident...)...)
	return s, nil
}

func parseTLS(md metadata.Metadata, ca, cert, key, keyPassword string) (*tls.Config, bool, error) {
	mode, err := md.Enum("tls", "disable", "enable", "disable")
	if err != nil {
		return nil, false, err
	}
	unsafeSSL, err := md.Bool("unsafeSsl", false)
	if err != nil {
		return nil, false, err
	}
	if mode == "disable" {
		// Certificates without TLS are a forgotten "tls: enable", which
		// would otherwise surface later as an opaque connection error.
		if ca != "" || cert != "" || key != "" {
			return nil, false, metadata.Invalid("tls", mode, "ca, cert or key is set: set tls to enable to use them")
		}
		return nil, false, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: unsafeSSL} //nolint:gosec // unsafeSsl is the user's explicit choice, as in KEDA
	if ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, false, md.SecretError("ca", "holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	switch {
	case cert != "" && key == "":
		return nil, false, &metadata.ConfigError{Key: "key", Reason: "is required when cert is set"}
	case key != "" && cert == "":
		return nil, false, &metadata.ConfigError{Key: "cert", Reason: "is required when key is set"}
	case cert != "":
		keyPEM, err := decryptKey(md, key, keyPassword)
		if err != nil {
			return nil, false, err
		}
		pair, err := tls.X509KeyPair([]byte(cert), keyPEM)
		if err != nil {
			// crypto/tls errors describe the problem, never the bytes.
			return nil, false, md.SecretError("cert", "cert and key are not a usable key pair: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, unsafeSSL, nil
}

// decryptKey returns key as PEM, decrypting a legacy encrypted PEM block
// (Proc-Type: 4,ENCRYPTED) with keyPassword. KEDA accepts such keys, so
// users switching from its kafka scaler may have them; encrypted PKCS#8 is
// not supported by the standard library and is refused with a clear error.
func decryptKey(md metadata.Metadata, key, keyPassword string) ([]byte, error) {
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		return nil, md.SecretError("key", "holds no PEM block")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, md.SecretError("key", "encrypted PKCS#8 keys are not supported: decrypt the key or use a PEM-encrypted key with keyPassword")
	}
	//lint:ignore SA1019 legacy PEM encryption is what KEDA's keyPassword reads; kept for users switching from it
	if keyPassword == "" || !x509.IsEncryptedPEMBlock(block) {
		return []byte(key), nil
	}
	//lint:ignore SA1019 as above
	der, err := x509.DecryptPEMBlock(block, []byte(keyPassword))
	if err != nil {
		// The error says "incorrect password" at most, never the password.
		return nil, &metadata.ConfigError{Key: "keyPassword", Reason: "cannot decrypt key: " + err.Error()}
	}
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der}), nil
}

// saslNames are the values of sasl, as its error lists them. KEDA's gssapi
// is not among them: there is no Kerberos client here.
var saslNames = []string{"none", "plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "aws_msk_iam"}

// mechanismKeys are the keys that only one sasl value reads.
var mechanismKeys = []struct{ key, sasl string }{
	{"oauthTokenEndpointUri", "oauthbearer"}, {"scopes", "oauthbearer"}, {"oauthExtensions", "oauthbearer"},
	{"awsRegion", "aws_msk_iam"},
}

// parseSASL returns the mechanism's name, the mechanism, and what besides
// the secrets must separate two clusters' upstreams (token URL, scopes,
// region). It does no I/O: token endpoints and the AWS configuration are
// reached when a connection authenticates.
func parseSASL(md metadata.Metadata, pol sources.Policy, user, pass string, tlsOn bool) (string, sasl.Mechanism, []string, error) {
	if raw := md.String("sasl", ""); strings.EqualFold(raw, "gssapi") {
		return "", nil, nil, metadata.Invalid("sasl", raw, "Kerberos is not supported by this scaler: want one of %s", strings.Join(saslNames, ", "))
	}
	name, err := md.Enum("sasl", "none", saslNames...)
	if err != nil {
		return "", nil, nil, err
	}
	// KEDA's kafka scaler spells MSK IAM as sasl: oauthbearer plus
	// saslTokenProvider: aws_msk_iam; MSK takes AWS_MSK_IAM on the same
	// listeners.
	provider, err := md.Enum("saslTokenProvider", "bearer", "bearer", "aws_msk_iam")
	if err != nil {
		return "", nil, nil, err
	}
	if md.Has("saslTokenProvider") && name != "oauthbearer" {
		return "", nil, nil, metadata.Invalid("saslTokenProvider", provider, "requires sasl: oauthbearer")
	}
	if provider == "aws_msk_iam" {
		name = "aws_msk_iam"
	}
	for _, k := range mechanismKeys {
		if md.Has(k.key) && name != k.sasl {
			return "", nil, nil, &metadata.ConfigError{Key: k.key, Reason: fmt.Sprintf("is set but sasl is %s: it applies to sasl: %s only", name, k.sasl)}
		}
	}
	switch name {
	case "none":
		if user != "" || pass != "" {
			return "", nil, nil, metadata.Invalid("sasl", name, "username or password is set: set sasl to use them")
		}
		return name, nil, nil, nil
	case "oauthbearer":
		m, ident, err := parseOAuth(md, pol, user, pass)
		if err != nil {
			return "", nil, nil, err
		}
		return name, m, ident, nil
	case "aws_msk_iam":
		m, ident, err := parseMSK(md, user, pass, tlsOn)
		if err != nil {
			return "", nil, nil, err
		}
		return name, m, ident, nil
	}
	m, err := parsePassword(name, user, pass)
	return name, m, nil, err
}

// parsePassword builds PLAIN or SCRAM from username and password.
func parsePassword(name, user, pass string) (sasl.Mechanism, error) {
	if user == "" {
		return nil, &metadata.ConfigError{Key: "username", Reason: "is required when sasl is " + name}
	}
	if pass == "" {
		return nil, &metadata.ConfigError{Key: "password", Reason: "is required when sasl is " + name}
	}
	if name == "plaintext" {
		return plain.Mechanism{Username: user, Password: pass}, nil
	}
	algo := scram.SHA256
	if name == "scram_sha512" {
		algo = scram.SHA512
	}
	m, err := scram.Mechanism(algo, user, pass)
	if err != nil {
		// The SCRAM library quotes the offending input in its error, which
		// may be the password: say what is wrong without it.
		return nil, metadata.Invalid("sasl", name, "username or password contains characters SCRAM cannot use (SASLprep failed)")
	}
	return m, nil
}
