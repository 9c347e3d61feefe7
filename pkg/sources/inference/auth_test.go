package inference

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/pkg/metadata"
)

// authMarker stands for a secret: no error may quote it.
const authMarker = "MARKER-auth-5e1f9"

// promAuthMD is a valid prometheus trigger on an https server plus kv.
func promAuthMD(kv ...string) metadata.Metadata {
	md := metadata.Metadata{"mode": "prometheus", "serverAddress": "https://prom:9090", "query": "sum(x)", "threshold": "1"}
	for i := 0; i+1 < len(kv); i += 2 {
		md[kv[i]] = kv[i+1]
	}
	return md
}

// TestParseAuthErrors: each bad auth key is a ConfigError naming the key
// and, for a non-secret, the bad value; no error quotes a credential.
func TestParseAuthErrors(t *testing.T) {
	pki, other := testpki.New(t), testpki.New(t)
	missing := filepath.Join(t.TempDir(), "no-such-token")
	scrape := func(kv ...string) metadata.Metadata {
		md := metadata.Metadata{"targets": "https://10.0.0.1:8000", "targetWaiting": "1"}
		maps.Copy(md, promAuthMD(kv...))
		delete(md, "serverAddress")
		delete(md, "query")
		delete(md, "threshold")
		md["mode"] = "scrape"
		return md
	}
	tests := []struct {
		name       string
		md         metadata.Metadata
		env        Env
		key, value string
	}{
		{"unknown mode", promAuthMD("authModes", "bearer,oauth", "bearerToken", authMarker), Env{}, "authModes", "bearer,oauth"},
		{"empty mode list", promAuthMD("authModes", " , "), Env{}, "authModes", ""},
		{"bearer and basic", promAuthMD("authModes", "bearer,basic", "bearerToken", authMarker, "username", "u"), Env{}, "authModes", "bearer,basic"},
		{"bearer without token", promAuthMD("authModes", "bearer"), Env{}, "bearerToken", ""},
		{"token with a newline inside", promAuthMD("authModes", "bearer", "bearerToken", "a\n"+authMarker), Env{}, "bearerToken", ""},
		{"token file missing", promAuthMD("authModes", "bearer", "bearerTokenFile", missing), Env{}, "bearerTokenFile", missing},
		{"basic without username", promAuthMD("authModes", "basic", "password", authMarker), Env{}, "username", ""},
		{"username with a colon", promAuthMD("authModes", "basic", "username", "a:"+authMarker), Env{}, "username", ""},
		{"tls without cert", promAuthMD("authModes", "tls", "key", pki.ClientKey), Env{}, "cert", ""},
		{"tls without key", promAuthMD("authModes", "tls", "cert", pki.ClientCert), Env{}, "key", ""},
		{"key not PEM", promAuthMD("authModes", "tls", "cert", pki.ClientCert, "key", authMarker), Env{}, "key", ""},
		{"key of another pair", promAuthMD("authModes", "tls", "cert", pki.ClientCert, "keyFromEnv", other.ClientKey), Env{}, "cert", ""},
		{"ca not PEM", promAuthMD("ca", authMarker), Env{}, "ca", ""},
		{"custom without header", promAuthMD("authModes", "custom", "customAuthValue", authMarker), Env{}, "customAuthHeader", ""},
		{"custom header not a token", promAuthMD("authModes", "custom", "customAuthHeader", "X Api(Key)", "customAuthValue", authMarker), Env{}, "customAuthHeader", "X Api(Key)"},
		{"custom without value", promAuthMD("authModes", "custom", "customAuthHeader", "X-Api-Key"), Env{}, "customAuthValue", ""},
		{"custom value with CR LF", promAuthMD("authModes", "custom", "customAuthHeader", "X-Api-Key", "customAuthValue", "v\r\nX-Evil: "+authMarker), Env{}, "customAuthValue", ""},
		{"custom header is Authorization with bearer", promAuthMD("authModes", "bearer,custom", "bearerToken", authMarker,
			"customAuthHeader", "authorization", "customAuthValue", authMarker), Env{}, "customAuthHeader", "authorization"},
		{"token without bearer", promAuthMD("bearerToken", authMarker), Env{}, "bearerToken", ""},
		{"password without basic", promAuthMD("authModes", "bearer", "bearerToken", "t", "passwordFromEnv", authMarker), Env{}, "passwordFromEnv", ""},
		{"cert without tls", promAuthMD("certFile", pki.ClientCertFile, "keyFile", pki.ClientKeyFile), Env{}, "certFile", pki.ClientCertFile},
		{"custom header without custom", promAuthMD("customAuthHeader", "X-Api-Key"), Env{}, "customAuthHeader", ""},
		{"customHeaders without =", promAuthMD("customHeaders", "X-Scope-OrgID"), Env{}, "customHeaders", "X-Scope-OrgID"},
		{"customHeaders bad name", promAuthMD("customHeaders", "X-A=1,X B=2"), Env{}, "customHeaders", "X B"},
		{"customHeaders value with CR", promAuthMD("customHeaders", "X-A=1\r"+authMarker+"2"), Env{}, "customHeaders", "X-A"},
		{"customHeaders twice", promAuthMD("customHeaders", "X-A=1,x-a=2"), Env{}, "customHeaders", "x-a"},
		{"customHeaders Host", promAuthMD("customHeaders", "Host=evil"), Env{}, "customHeaders", "Host"},
		{"customHeaders Authorization with bearer", promAuthMD("authModes", "bearer", "bearerToken", authMarker,
			"customHeaders", "Authorization=x"), Env{}, "customHeaders", "Authorization"},
		{"queryParameters without =", promAuthMD("queryParameters", "tenant"), Env{}, "queryParameters", "tenant"},
		{"queryParameters without name", promAuthMD("queryParameters", "=a"), Env{}, "queryParameters", "=a"},
		{"queryParameters query", promAuthMD("queryParameters", "query=up"), Env{}, "queryParameters", "query"},
		{"queryParameters twice", promAuthMD("queryParameters", "a=1,a=2"), Env{}, "queryParameters", "a"},
		{"ca over http", promAuthMD("serverAddress", "http://prom:9090", "ca", pki.CA), Env{}, "serverAddress", "http://prom:9090"},
		{"scrape: basic", scrape("authModes", "basic"), Env{}, "authModes", "basic"},
		{"scrape: password", scrape("passwordFromEnv", authMarker), Env{}, "passwordFromEnv", ""},
		{"scrape: customHeaders", scrape("customHeaders", "X-A=1"), Env{}, "customHeaders", "X-A=1"},
		{"scrape: tls over http", scrape("targets", "https://a:1,http://b:1", "authModes", "tls", "cert", pki.ClientCert, "key", pki.ClientKey),
			Env{}, "targets", "http://b:1"},
		{"scrape: ca with scheme http", scrape("targets", "<unset>", "service", "vllm", "namespace", "ai", "ca", pki.CA), fullEnv(), "scheme", "http"},
		{"scrape: token with a NUL", scrape("authModes", "bearer", "bearerToken", authMarker+"\x00"), Env{}, "bearerToken", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.md {
				if v == "<unset>" {
					delete(tt.md, k)
				}
			}
			tr, err := Parse(tt.md, tt.env)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", tr)
			}
			var ce *metadata.ConfigError
			if !errors.As(err, &ce) || ce.Key != tt.key {
				t.Fatalf("error %v; want a ConfigError naming %q", err, tt.key)
			}
			if tt.value != "" && !strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q lacks the bad value %q", err, tt.value)
			}
			for _, secret := range append([]string{authMarker}, keyMaterial(pki.ClientKey, other.ClientKey)...) {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error quotes a secret: %v", err)
				}
			}
		})
	}
}

// keyMaterial is the base64 lines of PEM keys.
func keyMaterial(keys ...string) []string {
	var out []string
	for _, k := range keys {
		for _, l := range strings.Split(strings.TrimSpace(k), "\n") {
			if !strings.HasPrefix(l, "-----") {
				out = append(out, l)
			}
		}
	}
	return out
}

// TestAuthUpstreamKeys: triggers that differ in any credential, header or
// parameter never share a client; the same credential given inline, from
// the environment or in a file does; no key or name holds a credential.
func TestAuthUpstreamKeys(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(authMarker+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := func(md metadata.Metadata) string {
		t.Helper()
		q := parseOK(t, md, Env{}).Query()
		for _, s := range []string{q.Key(), q.Upstream().Key, q.Upstream().Name} {
			if strings.Contains(s, authMarker) || strings.Contains(s, "s3cond") {
				t.Errorf("%v: key or name %q holds a credential", md, s)
			}
		}
		return q.Upstream().Key
	}
	bearer := key(promAuthMD("authModes", "bearer", "bearerToken", authMarker))
	same := []metadata.Metadata{
		promAuthMD("authModes", "Bearer ", "bearerTokenFromEnv", authMarker),
		promAuthMD("authModes", "bearer", "bearerTokenFile", tokenFile),
		promAuthMD("authModes", "bearer", "bearerToken", authMarker+"\n"),
	}
	for _, md := range same {
		if k := key(md); k != bearer {
			t.Errorf("%v: upstream %q, want the same as %q", md, k, bearer)
		}
	}
	seen := map[string]string{bearer: "bearer"}
	for name, md := range map[string]metadata.Metadata{
		"none":                 promAuthMD(),
		"other token":          promAuthMD("authModes", "bearer", "bearerToken", "s3cond"),
		"basic":                promAuthMD("authModes", "basic", "username", "u", "password", "s3cond"),
		"basic, other pass":    promAuthMD("authModes", "basic", "username", "u", "password", authMarker),
		"custom":               promAuthMD("authModes", "custom", "customAuthHeader", "X-Key", "customAuthValue", "s3cond"),
		"custom, other header": promAuthMD("authModes", "custom", "customAuthHeader", "X-Other", "customAuthValue", "s3cond"),
		"bearer + header":      promAuthMD("authModes", "bearer", "bearerToken", authMarker, "customHeaders", "X-Scope-OrgID=a"),
		"bearer + other head":  promAuthMD("authModes", "bearer", "bearerToken", authMarker, "customHeaders", "X-Scope-OrgID=b"),
		"bearer + param":       promAuthMD("authModes", "bearer", "bearerToken", authMarker, "queryParameters", "tenant=a"),
	} {
		k := key(md)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s shares upstream %q with %s", name, k, prev)
		}
		seen[k] = name
	}
	scrapeA := key(scrapeMD("http://a:1", "authModes", "bearer", "bearerToken", authMarker))
	scrapeB := key(scrapeMD("http://a:1", "authModes", "bearer", "bearerToken", "s3cond"))
	if scrapeA == scrapeB || scrapeA == key(scrapeMD("http://a:1")) {
		t.Errorf("scrape triggers with different tokens share upstream %q", scrapeA)
	}
}

// TestAuthRefusesRedirectToAnotherHost: a redirect to another host is an
// error, and that host sees nothing; without credentials the same
// redirect is followed (the control: the test sees the second host).
func TestAuthRefusesRedirectToAnotherHost(t *testing.T) {
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the other host got credentials: %q", r.Header.Get("Authorization"))
		}
		promVector("7")(w, r)
	}))
	t.Cleanup(other.Close)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	t.Cleanup(first.Close)

	_, err := promPoll(t, parseOK(t, promMD(first.URL, "up", "authModes", "bearer", "bearerToken", authMarker), Env{}))
	if err == nil || !strings.Contains(err.Error(), "another host") || strings.Contains(err.Error(), authMarker) {
		t.Errorf("err = %v; want the redirect refused, without the token", err)
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	s, err := promPoll(t, parseOK(t, promMD(first.URL, "up"), Env{}))
	if err != nil || s.Value != 7 || otherHits.Load() == 0 {
		t.Errorf("control without credentials: %+v, %v, %d requests to the other host", s, err, otherHits.Load())
	}
}
