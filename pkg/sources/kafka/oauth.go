package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go/sasl"

	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Bounds of the token endpoint exchange.
const (
	maxTokenResponse = 1 << 20 // bytes read from the token endpoint, at most
	tokenFetchLimit  = 10 * time.Second
	// defaultTokenLife is assumed when the endpoint sends no expires_in:
	// short enough that a revoked client stops working soon.
	defaultTokenLife = 5 * time.Minute
	maxTokenLife     = 24 * time.Hour
)

// oauthBearer is kafka-go's sasl.Mechanism for OAUTHBEARER (RFC 7628) with
// tokens from an OAuth 2.0 client-credentials grant (RFC 6749 4.4), as
// KEDA's kafka scaler reads them: username and password are the client id
// and secret. The token is fetched when a broker connection authenticates,
// never at parse, and is shared by every connection of the cluster until
// 80% of its lifetime has passed.
type oauthBearer struct {
	endpoint   string // the token URL, as parsed
	display    string // the token URL for errors: no userinfo, query or fragment
	clientID   string
	secret     string
	scopes     []string
	extensions []string // "key=value", sorted
	client     *http.Client
	now        func() time.Time

	mu        sync.Mutex // held across a fetch, so concurrent connects fetch once
	token     string
	refreshAt time.Time
	expiresAt time.Time
	// Like golang.org/x/oauth2 (which KEDA uses), the client credentials go
	// in HTTP basic auth; an endpoint that refuses that gets them in the
	// form instead, and the style that worked is kept.
	styleKnown bool
	inForm     bool
}

var _ sasl.Mechanism = (*oauthBearer)(nil)

// parseOAuth reads the OAUTHBEARER keys. It does no I/O. It also returns
// what, besides the secrets, must separate two clusters' upstreams.
func parseOAuth(md metadata.Metadata, pol sources.Policy, clientID, secret string) (*oauthBearer, []string, error) {
	if clientID == "" {
		return nil, nil, &metadata.ConfigError{Key: "username", Reason: "is required when sasl is oauthbearer (the OAuth client id)"}
	}
	if secret == "" {
		return nil, nil, &metadata.ConfigError{Key: "password", Reason: "is required when sasl is oauthbearer (the OAuth client secret)"}
	}
	raw := md.String("oauthTokenEndpointUri", "")
	if raw == "" {
		return nil, nil, &metadata.ConfigError{Key: "oauthTokenEndpointUri", Reason: "is required when sasl is oauthbearer"}
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		// The value may hold credentials that a failed parse cannot strip.
		return nil, nil, &metadata.ConfigError{Key: "oauthTokenEndpointUri", Reason: "is not an http or https URL"}
	}
	if u.User != nil {
		return nil, nil, metadata.Invalid("oauthTokenEndpointUri", displayURL(u),
			"must not hold credentials: give the client id and secret as username and password")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if err := pol.CheckUpstream("oauthTokenEndpointUri", net.JoinHostPort(u.Hostname(), port)); err != nil {
		return nil, nil, err
	}
	scopes := md.List("scopes")
	for _, s := range scopes {
		if !isScope(s) {
			return nil, nil, metadata.Invalid("scopes", s, "not an OAuth scope (RFC 6749: printable ASCII without space, quote or backslash)")
		}
	}
	exts, err := parseExtensions(md)
	if err != nil {
		return nil, nil, err
	}
	o := &oauthBearer{
		endpoint: u.String(), display: displayURL(u), clientID: clientID, secret: secret,
		scopes: scopes, extensions: exts, now: time.Now,
		client: &http.Client{
			// The token endpoint is an upstream the trigger names too.
			Transport: tokenTransport(pol.Upstreams),
			// A token endpoint does not redirect; following one would send
			// the client secret somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	return o, []string{o.endpoint, strings.Join(scopes, " "), strings.Join(exts, ",")}, nil
}

// parseExtensions reads oauthExtensions, KEDA's comma list of key=value SASL
// extensions (KIP-342), checked against RFC 7628's grammar.
func parseExtensions(md metadata.Metadata) ([]string, error) {
	var exts []string
	seen := map[string]bool{}
	for _, item := range md.List("oauthExtensions") {
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok || k == "" || v == "":
			return nil, metadata.Invalid("oauthExtensions", item, "want key=value")
		case strings.TrimLeft(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "":
			return nil, metadata.Invalid("oauthExtensions", item, "extension keys are letters only (RFC 7628)")
		case k == "auth":
			return nil, metadata.Invalid("oauthExtensions", item, "the key auth is reserved for the token")
		case strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0:
			return nil, metadata.Invalid("oauthExtensions", item, "extension values are printable ASCII (RFC 7628)")
		case seen[k]:
			return nil, metadata.Invalid("oauthExtensions", item, "extension %s is given twice", k)
		}
		seen[k] = true
		exts = append(exts, k+"="+v)
	}
	slices.Sort(exts)
	return exts, nil
}

// isScope: RFC 6749 3.3 scope-token.
func isScope(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e || r == '"' || r == '\\' }) < 0
}

// displayURL is u for errors and messages: no userinfo, query or fragment.
func displayURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = nil, "", false, "", ""
	return c.String()
}

// Name is the mechanism's name in the SaslHandshake.
func (o *oauthBearer) Name() string { return "OAUTHBEARER" }

// Start authenticates one connection: the client's initial response is
// RFC 7628's "n,,^Aauth=Bearer <token>^A<key=value^A>...^A".
func (o *oauthBearer) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	tok, err := o.current(ctx)
	if err != nil {
		return nil, nil, err
	}
	ir := append([]byte("n,,\x01auth=Bearer "), tok...)
	ir = append(ir, 1)
	for _, e := range o.extensions {
		ir = append(append(ir, e...), 1)
	}
	return &oauthSession{o: o, token: tok}, append(ir, 1), nil
}

// oauthSession is one connection's exchange.
type oauthSession struct {
	o     *oauthBearer
	token string
	// status is the broker's error, once it sent one.
	status string
}

// Next: an empty answer is success. A non-empty one is the broker's error
// (RFC 7628 3.2.2): the token is dropped from the cache, and the reply is a
// lone %x01, after which the broker fails the exchange with its message.
func (s *oauthSession) Next(_ context.Context, challenge []byte) (bool, []byte, error) {
	if s.status != "" {
		return false, nil, fmt.Errorf("sasl OAUTHBEARER: the broker rejected the token from %s (status %s)", s.o.display, s.status)
	}
	if len(challenge) == 0 {
		return true, nil, nil
	}
	s.status = brokerStatus(challenge)
	s.o.forget(s.token)
	return false, []byte{1}, nil
}

// brokerStatus is the status of an RFC 7628 error challenge, if it is a
// short word; the rest of the challenge is not repeated.
func brokerStatus(challenge []byte) string {
	var e struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(challenge, &e) != nil || !isWord(e.Status) {
		return "unreadable"
	}
	return strconv.Quote(e.Status)
}

// isWord: 1 to 64 letters, digits, '_', '-' or '.'; safe to quote.
func isWord(s string) bool {
	return len(s) > 0 && len(s) <= 64 && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) < 0
}

// forget drops tok from the cache, so the next connection fetches anew.
func (o *oauthBearer) forget(tok string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token == tok {
		o.token = ""
	}
}

// current returns the cached token, fetching a new one once 80% of its
// lifetime has passed. If that fetch fails, the old token serves until it
// expires.
func (o *oauthBearer) current(ctx context.Context) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	if o.token != "" && now.Before(o.refreshAt) {
		return o.token, nil
	}
	tok, life, err := o.fetch(ctx)
	if err != nil {
		if o.token != "" && now.Before(o.expiresAt) {
			return o.token, nil
		}
		return "", err
	}
	o.token, o.expiresAt, o.refreshAt = tok, now.Add(life), now.Add(life*4/5)
	return tok, nil
}

// fetch runs the client-credentials grant, credentials in basic auth or,
// if the endpoint refuses those (400 or 401) before any success, in the
// form.
func (o *oauthBearer) fetch(ctx context.Context) (string, time.Duration, error) {
	tok, life, status, err := o.request(ctx, o.inForm)
	if err != nil && !o.styleKnown && !o.inForm && (status == http.StatusBadRequest || status == http.StatusUnauthorized) {
		if tok, life, _, err = o.request(ctx, true); err == nil {
			o.inForm = true
		}
	}
	if err == nil {
		o.styleKnown = true
	}
	return tok, life, err
}

// request sends one token request. status is the HTTP status, 0 if none.
func (o *oauthBearer) request(ctx context.Context, inForm bool) (tok string, life time.Duration, status int, err error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(o.scopes) > 0 {
		form.Set("scope", strings.Join(o.scopes, " "))
	}
	if inForm {
		form.Set("client_id", o.clientID)
		form.Set("client_secret", o.secret)
	}
	ctx, cancel := context.WithTimeout(ctx, tokenFetchLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, 0, o.errorf("%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !inForm {
		// RFC 6749 2.3.1: both are form-encoded before basic auth.
		req.SetBasicAuth(url.QueryEscape(o.clientID), url.QueryEscape(o.secret))
	}
	resp, err := o.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which errorf names
		}
		return "", 0, 0, o.errorf("%w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse+1))
	if err != nil {
		return "", 0, resp.StatusCode, o.errorf("reading the response: %w", err)
	}
	if len(body) > maxTokenResponse {
		return "", 0, resp.StatusCode, o.errorf("response larger than %d bytes", maxTokenResponse)
	}
	if resp.StatusCode/100 != 2 {
		return "", 0, resp.StatusCode, o.errorf("HTTP %d%s", resp.StatusCode, oauthErrorCode(body))
	}
	tok, life, err = parseTokenResponse(body)
	if err != nil {
		return "", 0, resp.StatusCode, o.errorf("%v", err)
	}
	return tok, life, resp.StatusCode, nil
}

// errorf names the mechanism and the token URL; callers never pass the
// secret or a token.
func (o *oauthBearer) errorf(format string, args ...any) error {
	return fmt.Errorf("sasl OAUTHBEARER: token endpoint %s: "+format, append([]any{o.display}, args...)...)
}

// oauthErrorCode is the RFC 6749 5.2 error code of an error response, if
// it is a short word; the description is not repeated.
func oauthErrorCode(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || !isWord(e.Error) {
		return ""
	}
	return " (error " + strconv.Quote(e.Error) + ")"
}

// parseTokenResponse reads an RFC 6749 5.1 token response. A missing or
// zero expires_in means defaultTokenLife. Errors never quote the body.
func parseTokenResponse(body []byte) (string, time.Duration, error) {
	var r struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return "", 0, errors.New("the response is not a JSON token response")
	}
	if r.AccessToken == "" {
		return "", 0, errors.New("the response has no access_token")
	}
	if strings.IndexFunc(r.AccessToken, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
		return "", 0, errors.New("the access_token holds characters a bearer token cannot (RFC 6750)")
	}
	life := defaultTokenLife
	if raw := strings.Trim(string(r.ExpiresIn), `"`); raw != "" && raw != "null" {
		secs, err := strconv.ParseFloat(raw, 64)
		if err != nil || secs < 0 || math.IsNaN(secs) {
			return "", 0, errors.New("expires_in is not a number of seconds")
		}
		if secs > 0 {
			life = time.Duration(min(secs, maxTokenLife.Seconds()) * float64(time.Second))
		}
	}
	return r.AccessToken, life, nil
}

// tokenTransport is http.DefaultTransport dialling only where upstreams
// allows.
func tokenTransport(upstreams *allow.List) http.RoundTripper {
	if upstreams == nil {
		return http.DefaultTransport
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = upstreams.DialContext(&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	return tr
}
