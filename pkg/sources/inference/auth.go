package inference

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// KEDA's authModes of its prometheus scaler.
const (
	authBasic  = "basic"
	authBearer = "bearer"
	authCustom = "custom"
	authTLS    = "tls"
)

// modeAuths are the authModes each trigger mode supports: a scrape sends
// a token or a client certificate, as Prometheus's own scrapes do.
var modeAuths = map[string][]string{
	ModePrometheus: {authBasic, authBearer, authCustom, authTLS},
	ModeScrape:     {authBearer, authTLS},
}

// credentialKeys are read through Policy.Secret; no error quotes their values.
var credentialKeys = []string{"bearerToken", "username", "password", "customAuthValue", "ca", "cert", "key"}

// isCredential reports whether k is a credential key or one of its
// FromEnv/File spellings.
func isCredential(k string) bool {
	base := strings.TrimSuffix(strings.TrimSuffix(k, "FromEnv"), "File")
	return slices.Contains(credentialKeys, base)
}

// httpAuth is how the requests to one upstream authenticate: headers and
// query parameters added to every request, and the TLS configuration.
type httpAuth struct {
	modes  []string    // authModes, sorted
	header http.Header // Authorization, the custom auth header, customHeaders
	query  string      // queryParameters, URL-encoded
	tls    *tls.Config // unsafeSsl, the CA and the client certificate
	// secure: ca or a client certificate is set, which only https uses.
	secure bool
	// fingerprint covers every credential, header and parameter, so that
	// triggers that differ in any never share a client; "" when none.
	fingerprint string
	// allow restricts every connection; nil allows any.
	allow *allow.List
}

// describe is the part of an upstream key that says how requests
// authenticate. It holds no credential.
func (a *httpAuth) describe() string {
	d := "auth=" + strings.Join(a.modes, "+")
	if a.fingerprint != "" {
		d += "|cred=" + a.fingerprint
	}
	return d
}

// parseAuth reads KEDA's prometheus auth keys: authModes (a comma list of
// the modes mode supports), bearerToken, username and password, ca, cert
// and key (PEM; ca also without tls), customAuthHeader and customAuthValue,
// and in prometheus mode customHeaders and queryParameters.
func parseAuth(md metadata.Metadata, mode string, unsafeSSL bool, pol sources.Policy) (*httpAuth, error) {
	a := &httpAuth{header: http.Header{}, allow: pol.Upstreams}
	var err error
	if a.modes, err = parseAuthModes(md, mode); err != nil {
		return nil, err
	}
	creds := make(map[string]string, len(credentialKeys))
	for _, k := range credentialKeys {
		if creds[k], err = pol.Secret(md, k); err != nil {
			return nil, err
		}
	}
	// Secret trims a file's final newline but not an inline value's (a
	// Secret's data often ends in one): the same token or PEM either way.
	for _, k := range []string{"bearerToken", "ca", "cert", "key"} {
		creds[k] = strings.TrimSpace(creds[k])
	}
	on := func(m string) bool { return slices.Contains(a.modes, m) }
	unused := []struct{ key, mode string }{{"bearerToken", authBearer}, {"username", authBasic}, {"password", authBasic},
		{"customAuthHeader", authCustom}, {"customAuthValue", authCustom}, {"cert", authTLS}, {"key", authTLS}}
	for _, u := range unused {
		if !on(u.mode) && (creds[u.key] != "" || md.Has(u.key)) {
			return nil, md.SecretError(u.key, "is set, but authModes does not include %s", u.mode)
		}
	}
	if on(authBearer) {
		if err := a.setBearer(md, creds["bearerToken"]); err != nil {
			return nil, err
		}
	}
	if on(authBasic) {
		if err := a.setBasic(md, creds["username"], creds["password"]); err != nil {
			return nil, err
		}
	}
	if on(authCustom) {
		if err := a.setCustom(md, creds["customAuthValue"]); err != nil {
			return nil, err
		}
	}
	if a.tls, err = clientTLS(md, unsafeSSL, on(authTLS), creds["ca"], creds["cert"], creds["key"]); err != nil {
		return nil, err
	}
	a.secure = creds["ca"] != "" || on(authTLS)
	headers, err := a.parseCustomHeaders(md)
	if err != nil {
		return nil, err
	}
	if a.query, err = parseQueryParameters(md); err != nil {
		return nil, err
	}
	a.fingerprint = sources.Fingerprint(creds["bearerToken"], creds["username"], creds["password"],
		md.String("customAuthHeader", ""), creds["customAuthValue"], creds["ca"], creds["cert"], creds["key"], headers, a.query)
	return a, nil
}

// parseAuthModes reads authModes: known, supported by mode, bearer and
// basic not both (KEDA's rule: both set Authorization).
func parseAuthModes(md metadata.Metadata, mode string) ([]string, error) {
	raw := md.String("authModes", "")
	var modes []string
	for _, m := range md.List("authModes") {
		m = strings.ToLower(m)
		switch {
		case !slices.Contains(modeAuths[ModePrometheus], m):
			return nil, metadata.Invalid("authModes", raw, "unknown mode %q: want a comma list of %s", m, strings.Join(modeAuths[mode], ", "))
		case !slices.Contains(modeAuths[mode], m):
			return nil, metadata.Invalid("authModes", raw, "%s is not supported with mode %s: want %s", m, mode, strings.Join(modeAuths[mode], ", "))
		case !slices.Contains(modes, m):
			modes = append(modes, m)
		}
	}
	if raw != "" && len(modes) == 0 {
		return nil, metadata.Invalid("authModes", raw, "lists no mode")
	}
	if slices.Contains(modes, authBearer) && slices.Contains(modes, authBasic) {
		return nil, metadata.Invalid("authModes", raw, "bearer and basic both set Authorization: choose one")
	}
	slices.Sort(modes)
	return modes, nil
}

func (a *httpAuth) setBearer(md metadata.Metadata, token string) error {
	if token == "" {
		return &metadata.ConfigError{Key: "bearerToken", Reason: "is required when authModes includes bearer"}
	}
	if !validHeaderValue(token) {
		return md.SecretError("bearerToken", "holds a control character; a token is printable text")
	}
	a.header.Set("Authorization", "Bearer "+token)
	return nil
}

// setBasic sets basic auth; the password may be empty (an API key as the
// user name), as in KEDA.
func (a *httpAuth) setBasic(md metadata.Metadata, user, pass string) error {
	if user == "" {
		return &metadata.ConfigError{Key: "username", Reason: "is required when authModes includes basic"}
	}
	if strings.Contains(user, ":") {
		return md.SecretError("username", "must not contain a colon (RFC 7617)")
	}
	a.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	return nil
}

func (a *httpAuth) setCustom(md metadata.Metadata, value string) error {
	name := md.String("customAuthHeader", "")
	if name == "" {
		return &metadata.ConfigError{Key: "customAuthHeader", Reason: "is required when authModes includes custom"}
	}
	if err := a.checkHeaderName("customAuthHeader", name); err != nil {
		return err
	}
	if value == "" {
		return &metadata.ConfigError{Key: "customAuthValue", Reason: "is required when authModes includes custom"}
	}
	if !validHeaderValue(value) {
		return md.SecretError("customAuthValue", "holds a control character (CR, LF, ...), which a header value cannot")
	}
	a.header.Set(name, value)
	return nil
}

// reservedHeaders are set by the HTTP client or frame the request.
var reservedHeaders = []string{"Connection", "Content-Length", "Content-Type", "Host", "Transfer-Encoding"}

// checkHeaderName accepts an HTTP token that no mode already sets.
func (a *httpAuth) checkHeaderName(key, name string) error {
	if !validHeaderName(name) {
		return metadata.Invalid(key, name, "not an HTTP header name")
	}
	canon := http.CanonicalHeaderKey(name)
	if slices.Contains(reservedHeaders, canon) {
		return metadata.Invalid(key, name, "the HTTP client sets %s itself", canon)
	}
	if _, dup := a.header[canon]; dup {
		return metadata.Invalid(key, name, "%s is already set (by authModes or an earlier header)", canon)
	}
	return nil
}

// parseCustomHeaders reads customHeaders ("K1=V1,K2=V2"), sent with every
// request, into a.header and returns them as one string for the
// fingerprint. An error about a value names only its header.
func (a *httpAuth) parseCustomHeaders(md metadata.Metadata) (string, error) {
	pairs, err := parsePairs(md, "customHeaders")
	if err != nil {
		return "", err
	}
	for _, p := range pairs {
		if err := a.checkHeaderName("customHeaders", p[0]); err != nil {
			return "", err
		}
		if !validHeaderValue(p[1]) {
			return "", metadata.Invalid("customHeaders", p[0], "the value holds a control character (CR, LF, ...)")
		}
		a.header.Set(p[0], p[1])
	}
	return fmt.Sprint(pairs), nil
}

// queryOwnParams are the parameters of the instant query itself.
var queryOwnParams = []string{"query", "time", "timeout"}

// parseQueryParameters reads queryParameters ("k1=v1,k2=v2"), added to
// every request's URL, URL-encoded in the order given.
func parseQueryParameters(md metadata.Metadata) (string, error) {
	pairs, err := parsePairs(md, "queryParameters")
	if err != nil {
		return "", err
	}
	var enc []string
	seen := map[string]bool{}
	for _, p := range pairs {
		switch {
		case slices.Contains(queryOwnParams, p[0]):
			return "", metadata.Invalid("queryParameters", p[0], "is a parameter of the query itself (%s)", strings.Join(queryOwnParams, ", "))
		case seen[p[0]]:
			return "", metadata.Invalid("queryParameters", p[0], "appears twice")
		}
		seen[p[0]] = true
		enc = append(enc, url.QueryEscape(p[0])+"="+url.QueryEscape(p[1]))
	}
	return strings.Join(enc, "&"), nil
}

// parsePairs splits key's "name=value" items, separated by commas (KEDA's
// map syntax); a value may hold "=".
func parsePairs(md metadata.Metadata, key string) ([][2]string, error) {
	var out [][2]string
	for _, item := range md.List(key) {
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, metadata.Invalid(key, item, "want name=value pairs separated by commas")
		}
		out = append(out, [2]string{name, value})
	}
	return out, nil
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool {
		return r > 0x7e || !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || strings.ContainsRune("!#$%&'*+-.^_`|~", r))
	}) < 0
}

// validHeaderValue: no control character other than tab.
func validHeaderValue(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) < 0
}

// clientTLS builds the TLS configuration: ca replaces the system roots,
// and with authModes tls cert and key are the client certificate.
func clientTLS(md metadata.Metadata, unsafeSSL, withCert bool, ca, cert, key string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: unsafeSSL} //nolint:gosec // the user's explicit unsafeSsl, as in KEDA
	if ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, md.SecretError("ca", "holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if !withCert {
		return cfg, nil
	}
	switch {
	case cert == "":
		return nil, &metadata.ConfigError{Key: "cert", Reason: "is required when authModes includes tls"}
	case key == "":
		return nil, &metadata.ConfigError{Key: "key", Reason: "is required when authModes includes tls"}
	}
	if b, _ := pem.Decode([]byte(key)); b == nil {
		return nil, md.SecretError("key", "holds no PEM block")
	}
	pair, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		// crypto/tls describes the problem, never the bytes.
		return nil, md.SecretError("cert", "cert and key are not a usable key pair: %v", err)
	}
	cfg.Certificates = []tls.Certificate{pair}
	return cfg, nil
}

// transport configures base's TLS and its dialer (d, restricted to the
// allowed upstreams), and wraps it to authenticate every request.
func (a *httpAuth) transport(base *http.Transport, d *net.Dialer) http.RoundTripper {
	base.TLSClientConfig = a.tls.Clone()
	base.DialContext = a.allow.DialContext(d)
	if len(a.header) == 0 && a.query == "" {
		return base
	}
	return &authTransport{base: base, header: a.header, query: a.query}
}

// authTransport adds headers and query parameters to every request.
type authTransport struct {
	base   *http.Transport
	header http.Header
	query  string
}

// RoundTrip sends req with the headers and parameters added. A redirect
// to another host is refused: Go would drop Authorization there, and
// following it without the credentials, or with them, is wrong either way.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if prev := req.Response; prev != nil && prev.Request != nil && prev.Request.URL.Host != req.URL.Host {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("redirected from %s to another host, %s: not followed, the request carries credentials",
			prev.Request.URL.Host, req.URL.Host)
	}
	r := req.Clone(req.Context())
	for k, v := range t.header {
		r.Header[k] = v
	}
	if t.query != "" {
		if r.URL.RawQuery != "" {
			r.URL.RawQuery += "&"
		}
		r.URL.RawQuery += t.query
	}
	return t.base.RoundTrip(r)
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach base.
func (t *authTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }
