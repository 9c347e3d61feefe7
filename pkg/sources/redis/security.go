package redis

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// security is the parsed TLS configuration and a fingerprint of every
// credential of a deployment.
type security struct {
	tls       *tls.Config // nil: plaintext
	unsafeSSL bool
	// fingerprint is 12 hex digits of SHA-256 over every password and TLS
	// PEM, so that triggers with different credentials never share a
	// client while the endpoint key holds no secret. "" when there are none.
	fingerprint string
}

// describe is the part of the endpoint key that says how we connect.
func (s security) describe() string {
	d := "tls=off"
	if s.tls != nil {
		d = fmt.Sprintf("tls=on,unsafeSsl=%t", s.unsafeSSL)
	}
	if s.fingerprint != "" {
		d += "|cred=" + s.fingerprint
	}
	return d
}

// parseSecurity reads TLS the way KEDA's redis scalers do: enableTLS in the
// metadata, or tls: enable (the TriggerAuthentication spelling); ca, cert and
// key as PEM through pol.Secret. The passwords only enter the fingerprint.
func parseSecurity(md metadata.Metadata, pol sources.Policy, user, pass, sentinelUser, sentinelPass string) (security, error) {
	var s security
	on, err := tlsEnabled(md)
	if err != nil {
		return s, err
	}
	if s.unsafeSSL, err = md.Bool("unsafeSsl", false); err != nil {
		return s, err
	}
	pems := make([]string, 3)
	for i, k := range []string{"ca", "cert", "key"} {
		if pems[i], err = pol.Secret(md, k); err != nil {
			return s, err
		}
		// Secret trims a file's final newline but not an inline value's:
		// the same PEM either way must make the same client.
		pems[i] = strings.TrimSpace(pems[i])
	}
	switch kp, err := pol.Secret(md, "keyPassword"); {
	case err != nil:
		return s, err
	case kp != "":
		return s, &metadata.ConfigError{Key: "keyPassword", Reason: "is not supported by the redis source: give key unencrypted"}
	}
	ca, cert, key := pems[0], pems[1], pems[2]
	if !on {
		// Certificates without TLS are a forgotten enableTLS, which would
		// otherwise surface later as an opaque connection error.
		if ca != "" || cert != "" || key != "" {
			return s, metadata.Invalid("enableTLS", "false", "ca, cert or key is set: set enableTLS: true to use them")
		}
		s.unsafeSSL = false // meaningless without TLS; kept out of the key
	} else if s.tls, err = tlsConfig(md, s.unsafeSSL, ca, cert, key); err != nil {
		return s, err
	}
	s.fingerprint = sources.Fingerprint(append([]string{user, pass, sentinelUser, sentinelPass}, pems...)...)
	return s, nil
}

// tlsEnabled reads enableTLS and tls; set together they must agree.
func tlsEnabled(md metadata.Metadata) (bool, error) {
	enable, err := md.Bool("enableTLS", false)
	if err != nil {
		return false, err
	}
	mode, err := md.Enum("tls", "", "enable", "disable")
	if err != nil {
		return false, err
	}
	if mode != "" && md.Has("enableTLS") && enable != (mode == "enable") {
		return false, metadata.Invalid("tls", mode, "contradicts enableTLS: %t; set only one", enable)
	}
	return enable || mode == "enable", nil
}

// tlsConfig builds the client TLS configuration. ServerName stays empty: the
// dialer takes it from each node's address, which matters in cluster and
// sentinel mode where one config serves many hosts.
func tlsConfig(md metadata.Metadata, unsafeSSL bool, ca, cert, key string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: unsafeSSL} //nolint:gosec // unsafeSsl is the user's explicit choice, as in KEDA
	if ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, md.SecretError("ca", "holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	switch {
	case cert != "" && key == "":
		return nil, &metadata.ConfigError{Key: "key", Reason: "is required when cert is set"}
	case key != "" && cert == "":
		return nil, &metadata.ConfigError{Key: "cert", Reason: "is required when key is set"}
	case cert != "":
		if b, _ := pem.Decode([]byte(key)); b == nil {
			return nil, md.SecretError("key", "holds no PEM block")
		}
		pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
		if err != nil {
			// crypto/tls describes the problem, never the bytes.
			return nil, md.SecretError("cert", "cert and key are not a usable key pair: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}
