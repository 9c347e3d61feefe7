package inference

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

const testToken = "s3cret-push-token"

// clock is an injected, settable clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func post(t *testing.T, h http.Handler, auth, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/push", strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestPushHandler(t *testing.T) {
	c := &clock{now: t0}
	ts := func(d time.Duration) string { return t0.Add(d).Format(time.RFC3339) }
	bearer := "Bearer " + testToken
	tests := []struct {
		name, auth, body string
		code             int
		want             string // in the answer
	}{
		{"ok", bearer, `{"model":"m","count":3,"timestamp":"` + ts(0) + `"}`, 204, ""},
		{"ok without timestamp", bearer, `{"model":"m","count":1}`, 204, ""},
		{"scheme is case-insensitive", "bearer " + testToken, `{"model":"m","count":1}`, 204, ""},
		{"no token", "", `{"model":"m","count":1}`, 401, "bearer token"},
		{"wrong token", "Bearer nope", `{"model":"m","count":1}`, 401, "bearer token"},
		{"basic auth", "Basic " + testToken, `{"model":"m","count":1}`, 401, ""},
		{"missing model", bearer, `{"count":1}`, 400, `field "model": required`},
		{"model not a string", bearer, `{"model":5,"count":1}`, 400, `field "model"`},
		{"missing count", bearer, `{"model":"m"}`, 400, `field "count": required`},
		{"negative count", bearer, `{"model":"m","count":-1}`, 400, `field "count"`},
		{"fractional count", bearer, `{"model":"m","count":1.5}`, 400, `field "count"`},
		{"count as string", bearer, `{"model":"m","count":"7"}`, 400, `field "count"`},
		{"huge count", bearer, `{"model":"m","count":1e12}`, 400, `field "count"`},
		{"bad timestamp", bearer, `{"model":"m","count":1,"timestamp":"yesterday"}`, 400, `field "timestamp"`},
		{"old timestamp", bearer, `{"model":"m","count":1,"timestamp":"` + ts(-10*time.Minute) + `"}`, 400, `field "timestamp"`},
		{"future timestamp", bearer, `{"model":"m","count":1,"timestamp":"` + ts(time.Hour) + `"}`, 400, `field "timestamp"`},
		{"unknown field", bearer, `{"model":"m","count":1,"tokens":5}`, 400, `unknown field "tokens"`},
		{"two objects", bearer, `{"model":"m","count":1}{"model":"m","count":1}`, 400, "more than one"},
		{"not JSON", bearer, `model=m&count=1`, 400, "not a JSON object"},
		{"control characters in model", bearer, `{"model":"m\u0000","count":1}`, 400, `field "model"`},
		{"too large", bearer, `{"model":"` + strings.Repeat("x", maxPushBody) + `","count":1}`, 413, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(StoreOptions{Now: c.Now})
			code, body := post(t, s.Handler([]byte(testToken)), tt.auth, tt.body)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Errorf("answer %d %q; want %d containing %q", code, body, tt.code, tt.want)
			}
			if strings.Contains(body, testToken) {
				t.Errorf("answer %q leaks the token", body)
			}
			if code == 401 {
				if n := s.rate("m", t0, time.Minute); n != 0 {
					t.Errorf("an unauthorized push was counted")
				}
			}
		})
	}
}

func TestPushStoreLimits(t *testing.T) {
	c := &clock{now: t0}
	s := NewStore(StoreOptions{Now: c.Now, MaxModels: 2})
	h := s.Handler([]byte(testToken))
	for i, want := range []int{204, 204, 429} {
		if code, body := post(t, h, "Bearer "+testToken, fmt.Sprintf(`{"model":"m%d","count":1}`, i)); code != want {
			t.Errorf("model %d: %d %q; want %d", i, code, body, want)
		}
	}
	c.now = t0.Add(2 * time.Hour) // both models idle beyond the retention: evicted for a new one
	if code, body := post(t, h, "Bearer "+testToken, `{"model":"m9","count":1}`); code != 204 {
		t.Errorf("after eviction: %d %q", code, body)
	}
}

func TestStoreRate(t *testing.T) {
	c := &clock{now: t0.Add(time.Hour)}
	s := NewStore(StoreOptions{Now: c.Now})
	s.start = t0 // pretend it has been up for an hour
	at := func(sec float64) time.Time { return t0.Add(time.Hour + time.Duration(sec*float64(time.Second))) }
	c.now = at(10) // arrivals ahead of the clock would be clamped to it
	for sec := 0; sec < 10; sec++ {
		s.Add("m", 20, at(float64(sec)))
	}
	s.Add("m", 50, at(3)) // late, out of order
	s.Add("other", 1000, at(5))
	tests := []struct {
		name string
		now  time.Time
		d    time.Duration
		want float64
	}{
		{"ten seconds", at(10), 10 * time.Second, 25},
		{"last five", at(10), 5 * time.Second, 20},
		{"window over idle time", at(70), 60 * time.Second, 0},
		{"a second not reached yet is not counted", at(4.5), 2 * time.Second, (0.5*20 + 20 + 50 + 20) / 2},
	}
	for _, tt := range tests {
		if got := s.rate("m", tt.now, tt.d); !near(got, tt.want) {
			t.Errorf("%s: rate = %v, want %v", tt.name, got, tt.want)
		}
	}
	if s.rate("nobody", at(10), time.Minute) != 0 {
		t.Error("unknown model has a rate")
	}
	fresh := NewStore(StoreOptions{Now: c.Now})
	fresh.Add("m", 3, c.now)
	if got := fresh.rate("m", c.now.Add(100*time.Millisecond), time.Minute); got != 3 {
		t.Errorf("a store 100 ms old averages over at least a second: rate %v, want 3", got)
	}
}

// TestPushModeWakesAtZero: a push-mode trigger is inactive at zero until
// the first pushed request, active on the very next decision, and scales
// with the pushed rate.
func TestPushModeWakesAtZero(t *testing.T) {
	c := &clock{now: t0}
	env := Env{Push: NewStore(StoreOptions{Now: c.Now})}
	tr := parseOK(t, metadata.Metadata{"mode": "push", "model": "llama", "targetRequestRate": "5"}, env)
	up, err := tr.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	poll := func() sources.Sample {
		c.now = c.now.Add(time.Second)
		r := up.Poll(context.Background(), c.now, []sources.Query{tr.Query()})
		if r[0].Err != nil {
			t.Fatal(r[0].Err)
		}
		return r[0].Sample
	}
	for range 3 {
		if s := poll(); active(tr, s) || s.Value != 0 {
			t.Fatalf("idle model is active: %+v", s)
		}
	}
	env.Push.Add("llama", 1, c.now)
	if s := poll(); !active(tr, s) || s.Value != 1 {
		t.Fatalf("after one pushed request: %+v; want active with 1 replica", s)
	}
	var s sources.Sample
	for range 70 {
		env.Push.Add("llama", 50, c.now)
		s = poll()
	}
	if s.Value != 10 {
		t.Errorf("50 req/s at 5 per replica: %v replicas (%s); want 10", s.Value, s.Parts[0].Info)
	}
}

// FuzzPush: no body panics the handler, every answer is 204, 400, 413 or
// 429, and a 400 names a field or says what is wrong with the body.
func FuzzPush(f *testing.F) {
	f.Add(`{"model":"m","count":3,"timestamp":"2027-01-15T08:00:00Z"}`)
	f.Add(`{"model":"","count":-1}`)
	f.Add(`{"model":"m","count":1e400}`)
	f.Add(`{"model":"m","count":1}garbage`)
	f.Add(`[1,2,3]`)
	f.Add(`{"model":"m","count":9007199254740993,"timestamp":"2027-01-15T08:00:00.999999999+14:00"}`)
	c := &clock{now: time.Date(2027, 1, 15, 8, 0, 0, 0, time.UTC)}
	s := NewStore(StoreOptions{Now: c.Now, MaxModels: 50})
	h := s.Handler([]byte(testToken))
	f.Fuzz(func(t *testing.T, body string) {
		code, answer := post(t, h, "Bearer "+testToken, body)
		switch code {
		case 204, 413, 429:
		case 400:
			if !strings.Contains(answer, "field") && !strings.Contains(answer, "JSON") && !strings.Contains(answer, "unknown field") {
				t.Errorf("400 %q names no field", answer)
			}
		default:
			t.Errorf("answer %d %q", code, answer)
		}
	})
}
