package inference

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzForwarded: no body panics the forward route; every answer is 204,
// 200 (some pushes refused, each refusal named), 400 or 413.
func FuzzForwarded(f *testing.F) {
	ts := "2027-01-15T08:00:00Z"
	f.Add(`{"pushes":[{"model":"m","count":3,"timestamp":"` + ts + `"}]}`)
	f.Add(`{"pushes":[{"model":"m","count":3}]}`)
	f.Add(`{"pushes":[{"model":"","count":-1,"timestamp":"x"},{"model":"m","count":1e400}]}`)
	f.Add(`{"pushes":null}`)
	f.Add(`{"pushes":[1,2]}`)
	c := &clock{now: time.Date(2027, 1, 15, 8, 0, 0, 0, time.UTC)}
	s := NewStore(StoreOptions{Now: c.Now, MaxModels: 50})
	h := s.ForwardedHandler([]byte(testToken), "me")
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/push/forwarded", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 204, 400, 413:
		case 200:
			if !strings.Contains(rec.Body.String(), `"refused":`) || !strings.Contains(rec.Body.String(), "push ") {
				t.Errorf("200 %q does not name the refused push", rec.Body.String())
			}
		default:
			t.Errorf("answer %d %q", rec.Code, rec.Body.String())
		}
	})
}
