package kafka

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testclock"
)

// Test OAuth client credentials.
const (
	oauthClient = "tide-client"
	oauthSecret = "client-SECRET-x9"
	oauthScope  = "kafka.read kafka:describe"
)

// tokenServer is an OAuth 2.0 token endpoint: it checks the grant, the
// scope and the client's id and secret, issues numbered tokens valid for
// life on the test clock, and counts requests.
type tokenServer struct {
	*httptest.Server
	clock    *testclock.Clock
	life     int  // expires_in, seconds; 0: none sent
	formOnly bool // refuse basic auth, as some endpoints do

	mu       sync.Mutex
	requests int
	expiry   map[string]time.Time // issued token -> expiry
}

func newTokenServer(t *testing.T, clock *testclock.Clock, life int) *tokenServer {
	ts := &tokenServer{clock: clock, life: life, expiry: map[string]time.Time{}}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.requests++
	fail := func(code int, oauthErr string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"error":%q,"error_description":"client %s with secret %s"}`, oauthErr, oauthClient, oauthSecret)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != oauthScope {
		fail(http.StatusBadRequest, "invalid_scope")
		return
	}
	id, secret, basic := r.BasicAuth()
	id, _ = url.QueryUnescape(id)
	secret, _ = url.QueryUnescape(secret)
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if (basic && ts.formOnly) || id != oauthClient || secret != oauthSecret {
		fail(http.StatusUnauthorized, "invalid_client")
		return
	}
	tok := fmt.Sprintf("tok-%d.abc_DEF~+/=", len(ts.expiry)+1)
	life := time.Duration(ts.life) * time.Second
	if life == 0 {
		life = defaultTokenLife
	}
	ts.expiry[tok] = ts.clock.Now().Add(life)
	resp := map[string]any{"access_token": tok, "token_type": "Bearer"}
	if ts.life > 0 {
		resp["expires_in"] = ts.life
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// setFormOnly makes the endpoint refuse basic auth, or take it again.
func (ts *tokenServer) setFormOnly(on bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.formOnly = on
}

// stats returns the requests served and the tokens issued.
func (ts *tokenServer) stats() (requests, issued int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.requests, len(ts.expiry)
}

// valid reports whether tok was issued and has not expired.
func (ts *tokenServer) valid(tok string) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	exp, ok := ts.expiry[tok]
	return ok && ts.clock.Now().Before(exp)
}

// bearerCheck is a gate's verifier for OAUTHBEARER: it takes tokens the
// token server issued and that have not expired, with exactly the wanted
// extensions, and records the tokens it took. revoked rejects every token.
type bearerCheck struct {
	ts      *tokenServer
	wantExt string
	revoked atomic.Bool

	mu   sync.Mutex
	used []string
}

func bearerGate(ts *tokenServer) (*saslGate, *bearerCheck) {
	b := &bearerCheck{ts: ts, wantExt: "identityPoolId=pool-2,logicalCluster=lkc-1"}
	return &saslGate{mechanism: "OAUTHBEARER", verify: b.verify}, b
}

func (b *bearerCheck) verify(auth []byte) ([]byte, string) {
	s := string(auth)
	if !strings.HasPrefix(s, "n,,\x01auth=Bearer ") || !strings.HasSuffix(s, "\x01\x01") {
		return nil, "malformed RFC 7628 initial response"
	}
	fields := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, "n,,\x01auth=Bearer "), "\x01\x01"), "\x01")
	tok, ext := fields[0], strings.Join(fields[1:], ",")
	if ext != b.wantExt {
		return nil, fmt.Sprintf("extensions %q, want %q", ext, b.wantExt)
	}
	if b.revoked.Load() || !b.ts.valid(tok) {
		return []byte(`{"status":"invalid_token"}`), ""
	}
	b.mu.Lock()
	b.used = append(b.used, tok)
	b.mu.Unlock()
	return nil, ""
}

// tokens returns the tokens taken so far.
func (b *bearerCheck) tokens() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.used)
}

// oauthMD is the trigger metadata for the token server.
func oauthMD(ts *tokenServer, secret string) map[string]string {
	return map[string]string{
		"consumerGroup": "g", "topic": "t", "sasl": "oauthbearer",
		"username": oauthClient, "passwordFromEnv": secret,
		"oauthTokenEndpointUri": ts.URL + "/oauth2/token?tenant=t1",
		"scopes":                "kafka.read, kafka:describe", "oauthExtensions": "logicalCluster=lkc-1,identityPoolId=pool-2",
	}
}

// withClock sets the OAUTHBEARER mechanism's clock.
func withClock(t *testing.T, tr *Trigger, clock *testclock.Clock) *oauthBearer {
	t.Helper()
	o, ok := tr.query.cluster.sec.mechanism.(*oauthBearer)
	if !ok {
		t.Fatalf("mechanism %T, want OAUTHBEARER", tr.query.cluster.sec.mechanism)
	}
	o.now = clock.Now
	return o
}

// TestOAuthBearerLag reads the exact lag through connections that
// authenticated with OAUTHBEARER: one token fetch serves every broker
// connection, the broker verifies token and extensions, and nothing
// reaches kfake before authentication.
func TestOAuthBearerLag(t *testing.T) {
	clock := testclock.New(t0)
	ts := newTokenServer(t, clock, 3600)
	g, check := bearerGate(ts)
	c := g.start(t, nil)
	c.createTopic(t, 3, "t")
	c.produce(t, "t", map[int32]int{0: 9, 1: 4, 2: 6})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 2, 1: 4, 2: 1}})

	tr := mustParse(t, c, oauthMD(ts, oauthSecret))
	withClock(t, tr, clock)
	if n, _ := ts.stats(); n != 0 {
		t.Fatalf("Parse sent %d token requests, want none", n)
	}
	u := open(t, tr)
	for range 2 {
		if s := mustSample(t, pollAt(t, u, tr)[0]); s.Value != 7+0+5 {
			t.Fatalf("lag %v, want 12", s.Value)
		}
	}
	passed, refused, before := g.counts()
	if passed == 0 || refused != 0 || before != 0 {
		t.Errorf("gate: %d passed, %d refused, %d requests before authentication; want >0, 0, 0", passed, refused, before)
	}
	if n, issued := ts.stats(); n != 1 || issued != 1 {
		t.Errorf("token endpoint: %d requests, %d tokens for %d connections; want 1 and 1", n, issued, passed)
	}
	if used := check.tokens(); len(used) != passed || used[0] != "tok-1.abc_DEF~+/=" {
		t.Errorf("tokens the broker took: %q", used)
	}
}

// TestOAuthBearerRefresh: the token is fetched anew once 80% of its
// lifetime has passed, before it expires, and a connection opened after
// that carries the new token; before that, reconnects reuse the old one.
func TestOAuthBearerRefresh(t *testing.T) {
	clock := testclock.New(t0)
	ts := newTokenServer(t, clock, 100)
	g, check := bearerGate(ts)
	c := g.start(t, nil)
	c.createTopic(t, 1, "t")
	c.produce(t, "t", map[int32]int{0: 5})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 2}})
	tr := mustParse(t, c, oauthMD(ts, oauthSecret))
	withClock(t, tr, clock)
	u := open(t, tr)

	steps := []struct {
		advance  time.Duration
		requests int
		token    string
	}{
		{0, 1, "tok-1"},
		{70 * time.Second, 1, "tok-1"},  // 70% of the lifetime: cached
		{11 * time.Second, 2, "tok-2"},  // 81%: refreshed, tok-1 still valid
		{79 * time.Second, 2, "tok-2"},  // tok-2 at 79%
		{100 * time.Second, 3, "tok-3"}, // long past: fetched again
	}
	for i, st := range steps {
		clock.Add(st.advance)
		u.transport.CloseIdleConnections() // the next poll authenticates anew
		if s := mustSample(t, pollAt(t, u, tr)[0]); s.Value != 3 {
			t.Fatalf("step %d: lag %v, want 3", i, s.Value)
		}
		n, _ := ts.stats()
		used := check.tokens()
		last := used[len(used)-1]
		if n != st.requests || !strings.HasPrefix(last, st.token+".") {
			t.Errorf("step %d (+%v): %d token requests, broker took %q; want %d and %s", i, st.advance, n, last, st.requests, st.token)
		}
	}
	if _, refused, _ := g.counts(); refused != 0 {
		t.Errorf("the broker refused %d connections: a token was used past its expiry", refused)
	}
}

// TestOAuthBearerRefused: a wrong client secret, a token the broker
// rejects, and a token endpoint that refuses basic auth (which gets the
// credentials in the form, as golang.org/x/oauth2 does for KEDA).
func TestOAuthBearerRefused(t *testing.T) {
	clock := testclock.New(t0)
	ts := newTokenServer(t, clock, 3600)
	g, check := bearerGate(ts)
	c := g.start(t, nil)
	c.createTopic(t, 1, "t")
	c.produce(t, "t", map[int32]int{0: 5})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 1}})

	t.Run("wrong secret", func(t *testing.T) {
		tr := mustParse(t, c, oauthMD(ts, "wrong-SECRET-1"))
		withClock(t, tr, clock)
		before, _ := ts.stats()
		r := pollAt(t, open(t, tr), tr)[0]
		mustAuthFail(t, r.Err, r.Sample.Value, "OAUTHBEARER", "wrong-SECRET-1", oauthSecret)
		msg := r.Err.Error()
		if !strings.Contains(msg, ts.URL+"/oauth2/token") || strings.Contains(msg, "tenant=") || !strings.Contains(msg, `"invalid_client"`) {
			t.Errorf("error %q: want the token URL without its query, and the endpoint's error code", msg)
		}
		if n, _ := ts.stats(); n-before < 2 {
			t.Errorf("%d token requests, want basic auth and then the form tried", n-before)
		}
	})
	t.Run("broker rejects the token", func(t *testing.T) {
		tr := mustParse(t, c, oauthMD(ts, oauthSecret))
		o := withClock(t, tr, clock)
		check.revoked.Store(true)
		defer check.revoked.Store(false)
		r := pollAt(t, open(t, tr), tr)[0]
		mustAuthFail(t, r.Err, r.Sample.Value, "OAUTHBEARER", oauthSecret, "tok-")
		if !strings.Contains(r.Err.Error(), "invalid_token") {
			t.Errorf("error %q does not say why the broker refused", r.Err)
		}
		if o.token != "" {
			t.Error("a token the broker rejected stays cached")
		}
	})
	t.Run("form credentials", func(t *testing.T) {
		ts.setFormOnly(true)
		defer ts.setFormOnly(false)
		tr := mustParse(t, c, oauthMD(ts, oauthSecret))
		o := withClock(t, tr, clock)
		before, _ := ts.stats()
		if s := mustSample(t, pollAt(t, open(t, tr), tr)[0]); s.Value != 4 {
			t.Fatalf("lag %v, want 4", s.Value)
		}
		clock.Add(time.Hour)
		if _, err := o.current(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if n, _ := ts.stats(); n-before != 3 {
			t.Errorf("%d token requests for two tokens, want 3 (basic refused once, then the form only)", n-before)
		}
	})
}
