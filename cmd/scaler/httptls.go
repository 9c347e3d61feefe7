package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"

	"github.com/tide-scaler/tide/pkg/server"
)

// httpTLSFlags serve the HTTP endpoints (/metrics, /healthz, /readyz and
// POST /v1/push, all on --http-addr) over TLS, optionally requiring client
// certificates: the HTTP counterparts of --tls-cert, --tls-key and
// --tls-client-ca.
type httpTLSFlags struct{ files server.TLSFiles }

func (h *httpTLSFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&h.files.Cert, "http-tls-cert", "", "PEM certificate for TLS on --http-addr (/metrics, /healthz, /readyz, /v1/push; reloaded when the file changes)")
	fs.StringVar(&h.files.Key, "http-tls-key", "", "PEM private key for TLS on --http-addr")
	fs.StringVar(&h.files.ClientCA, "http-tls-client-ca", "", "PEM CA bundle; when set, HTTP clients must present a certificate it signed (mTLS; HTTP probes then fail)")
}

// config is the listener's TLS configuration, nil when the flags are unset.
// Every error names the flag at fault and never quotes a file's contents.
// The key pair is loaded (and re-read on rotation) by server.TLSFiles.
func (h *httpTLSFlags) config() (*tls.Config, error) {
	f := h.files
	switch {
	case f.Cert == "" && f.Key == "" && f.ClientCA == "":
		return nil, nil
	case f.Cert == "" || f.Key == "":
		return nil, fmt.Errorf("--http-tls-cert and --http-tls-key are needed together (got --http-tls-cert %q, --http-tls-key %q)", f.Cert, f.Key)
	}
	for _, c := range []struct{ flag, path string }{
		{"--http-tls-cert", f.Cert}, {"--http-tls-key", f.Key}, {"--http-tls-client-ca", f.ClientCA},
	} {
		if c.path == "" {
			continue
		}
		fh, err := os.Open(c.path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.flag, err)
		}
		fh.Close()
	}
	// The pair alone first, so that a bad pair and a bad CA are told apart:
	// once the pair loads, the CA (readable, checked above) is all that can
	// fail.
	if _, err := (server.TLSFiles{Cert: f.Cert, Key: f.Key}).Config(); err != nil {
		return nil, fmt.Errorf("--http-tls-cert %s, --http-tls-key %s: %w", f.Cert, f.Key, err)
	}
	tc, err := f.Config()
	if err != nil {
		return nil, fmt.Errorf("--http-tls-client-ca %s holds no PEM certificate", f.ClientCA)
	}
	return tc, nil
}
