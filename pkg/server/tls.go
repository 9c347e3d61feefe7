package server

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// TLSFiles names PEM files for serving TLS. With ClientCA set, clients must
// present a certificate signed by it (mTLS).
type TLSFiles struct {
	Cert, Key, ClientCA string
}

// Enabled reports whether TLS is configured.
func (f TLSFiles) Enabled() bool { return f.Cert != "" || f.Key != "" }

// Config builds a tls.Config (minimum TLS 1.2, as KEDA's client requires).
// The key pair is re-read when its files change, so a rotated Secret is
// picked up without a restart.
func (f TLSFiles) Config() (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, fmt.Errorf("tls: both --tls-cert and --tls-key are needed (got cert %q, key %q)", f.Cert, f.Key)
	}
	kp := &keyPair{cert: f.Cert, key: f.Key}
	if _, err := kp.get(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kp.get()
		},
	}
	if f.ClientCA != "" {
		pem, err := os.ReadFile(f.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls: --tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: --tls-client-ca %q holds no PEM certificate", f.ClientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// keyPair caches a certificate and reloads it when either file's mtime
// changes.
type keyPair struct {
	cert, key string

	mu     sync.Mutex
	loaded *tls.Certificate
	stamp  [2]time.Time
}

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var stamp [2]time.Time
	for i, p := range []string{k.cert, k.key} {
		st, err := os.Stat(p)
		if err != nil {
			if k.loaded != nil {
				return k.loaded, nil // mid-rotation: keep serving the old pair
			}
			return nil, fmt.Errorf("tls: %w", err)
		}
		stamp[i] = st.ModTime()
	}
	if k.loaded != nil && stamp == k.stamp {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		return nil, fmt.Errorf("tls: loading %s and %s: %w", k.cert, k.key, err)
	}
	k.loaded, k.stamp = &c, stamp
	return k.loaded, nil
}

// ServeHTTPTLS makes the HTTP listener (/metrics, /healthz, /readyz and
// Config.Handlers) serve TLS with tc, typically from TLSFiles.Config, so the
// key pair is re-read when it rotates and, with ClientCAs set, a client
// without a certificate signed by them never reaches a handler. Call it after
// New and before Run.
func (s *Server) ServeHTTPTLS(tc *tls.Config) {
	tc = tc.Clone()
	tc.NextProtos = []string{"http/1.1"}
	s.httpLis = tls.NewListener(s.httpLis, tc)
}
