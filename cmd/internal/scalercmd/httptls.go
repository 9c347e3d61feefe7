package scalercmd

import (
	"crypto/tls"
	"errors"
	"flag"

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
func (h *httpTLSFlags) config() (*tls.Config, error) {
	if !h.files.Enabled() {
		return nil, nil
	}
	tc, err := h.files.Config()
	return tc, flagError(err, "--http-tls-cert", "--http-tls-key", "--http-tls-client-ca")
}

// flagError names the flags of a server.FileError: cert, key and ca are
// the flags of TLSFiles' Cert, Key and ClientCA.
func flagError(err error, cert, key, ca string) error {
	var fe *server.FileError
	if !errors.As(err, &fe) {
		return err
	}
	flags := map[string]string{"Cert": cert, "Key": key, "ClientCA": ca}
	return errors.New(fe.Format(func(field string) string { return flags[field] }))
}
