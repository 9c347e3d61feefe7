package kafka

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testclock"
	"github.com/tide-scaler/tide/pkg/metadata"
)

// endpointMechanism parses OAUTHBEARER metadata for url with the test
// secret and sets its clock.
func endpointMechanism(t *testing.T, url string, clock *testclock.Clock) *oauthBearer {
	t.Helper()
	tr, err := Parse(oauth("oauthTokenEndpointUri", url, "password", oauthSecret), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return withClock(t, tr, clock)
}

// TestOAuthTokenResponses: what a token endpoint answers becomes a token
// with a lifetime, or an error that names the mechanism and the URL and
// never the secret or a token. The body read is bounded.
func TestOAuthTokenResponses(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		life   time.Duration // want; 0: want an error
		errHas string
	}{
		{"expires_in number", 200, `{"access_token":"tok-a","token_type":"Bearer","expires_in":120}`, 120 * time.Second, ""},
		{"expires_in string", 200, `{"access_token":"tok-a","expires_in":"90"}`, 90 * time.Second, ""},
		{"no expires_in", 200, `{"access_token":"tok-a"}`, defaultTokenLife, ""},
		{"huge expires_in", 200, `{"access_token":"tok-a","expires_in":1e12}`, maxTokenLife, ""},
		{"server error", 500, `{"error":"temporarily_unavailable","error_description":"tok-x"}`, 0, `HTTP 500 (error "temporarily_unavailable")`},
		{"error code not a word", 400, `{"error":"<script>tok-x"}`, 0, "HTTP 400"},
		{"not JSON", 200, `access_token=tok-x&expires_in=5`, 0, "not a JSON token response"},
		{"no token", 200, `{"token_type":"Bearer"}`, 0, "no access_token"},
		{"token with a space", 200, `{"access_token":"tok-x y"}`, 0, "RFC 6750"},
		{"token with ^A", 200, `{"access_token":"tok-x\u0001"}`, 0, "RFC 6750"},
		{"negative expires_in", 200, `{"access_token":"tok-x","expires_in":-5}`, 0, "expires_in"},
		{"expires_in text", 200, `{"access_token":"tok-x","expires_in":"soon"}`, 0, "expires_in"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			clock := testclock.New(t0)
			o := endpointMechanism(t, srv.URL+"/token", clock)
			tok, err := o.current(ctxT(t))
			if tc.life == 0 {
				if err == nil {
					t.Fatalf("token %q, want an error", tok)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "sasl OAUTHBEARER: token endpoint "+srv.URL+"/token: ") || !strings.Contains(msg, tc.errHas) {
					t.Errorf("error %q, want the mechanism, the URL and %q", msg, tc.errHas)
				}
				if strings.Contains(msg, oauthSecret) || strings.Contains(msg, "tok-") {
					t.Errorf("error %q leaks the secret or a token", msg)
				}
				return
			}
			if err != nil || tok != "tok-a" {
				t.Fatalf("token %q, error %v", tok, err)
			}
			if !o.expiresAt.Equal(t0.Add(tc.life)) || !o.refreshAt.Equal(t0.Add(tc.life*4/5)) {
				t.Errorf("expires %v, refresh %v; want lifetime %v refreshed at 80%%", o.expiresAt, o.refreshAt, tc.life)
			}
		})
	}
}

// TestOAuthTokenBodyBounded: the client stops reading past 1 MiB, even
// from an endpoint whose body never ends.
func TestOAuthTokenBodyBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = fmt.Fprint(w, `{"access_token":"tok-huge","pad":"`+strings.Repeat("x", maxTokenResponse))
		<-r.Context().Done() // the rest never comes
	}))
	defer srv.Close()
	o := endpointMechanism(t, srv.URL, testclock.New(t0))
	if _, err := o.current(ctxT(t)); err == nil || !strings.Contains(err.Error(), "larger than 1048576 bytes") {
		t.Errorf("error %v, want the body refused at 1 MiB", err)
	}
}

// TestOAuthTokenEndpointRedirect: a redirect is not followed, so the client
// secret never reaches another server.
func TestOAuthTokenEndpointRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	o := endpointMechanism(t, srv.URL+"/token", testclock.New(t0))
	if _, err := o.current(ctxT(t)); err == nil || !strings.Contains(err.Error(), "HTTP 307") {
		t.Errorf("error %v, want the redirect refused", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// TestOAuthTokenRefreshFailure: when a refresh fails, the old token serves
// until it expires, and not a moment longer.
func TestOAuthTokenRefreshFailure(t *testing.T) {
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = fmt.Fprint(w, `{"access_token":"tok-1","expires_in":100}`)
	}))
	defer srv.Close()
	clock := testclock.New(t0)
	o := endpointMechanism(t, srv.URL, clock)
	if tok, err := o.current(ctxT(t)); tok != "tok-1" || err != nil {
		t.Fatalf("token %q, error %v", tok, err)
	}
	down.Store(true)
	clock.Add(90 * time.Second) // refresh due, token valid for 10 s more
	if tok, err := o.current(ctxT(t)); tok != "tok-1" || err != nil {
		t.Errorf("during a failed refresh: token %q, error %v; want the old token", tok, err)
	}
	clock.Add(10 * time.Second) // expired
	if tok, err := o.current(ctxT(t)); err == nil || !strings.Contains(err.Error(), "HTTP 503") {
		t.Errorf("after expiry: token %q, error %v; want the endpoint's error", tok, err)
	}
}

// TestOAuthInitialResponse: the client's first message is RFC 7628's, with
// the extensions sorted, and an error challenge is answered with %x01.
func TestOAuthInitialResponse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = fmt.Fprint(w, `{"access_token":"eyJ.abc-_~+/=","expires_in":60}`)
	}))
	defer srv.Close()
	tr, err := Parse(metadata.Metadata(oauth("oauthTokenEndpointUri", srv.URL, "oauthExtensions", "zeta=1,alpha=two words")), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	o := withClock(t, tr, testclock.New(t0))
	sess, ir, err := o.Start(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := "n,,\x01auth=Bearer eyJ.abc-_~+/=\x01alpha=two words\x01zeta=1\x01\x01"; string(ir) != want {
		t.Errorf("initial response %q, want %q", ir, want)
	}
	done, resp, err := sess.Next(ctxT(t), []byte(`{"status":"invalid_token","scope":"x"}`))
	if done || string(resp) != "\x01" || err != nil {
		t.Errorf("error challenge: done %v, response %q, error %v; want %%x01", done, resp, err)
	}
	if _, _, err := sess.Next(ctxT(t), nil); err == nil || !strings.Contains(err.Error(), `status "invalid_token"`) {
		t.Errorf("after the challenge: error %v", err)
	}
}
