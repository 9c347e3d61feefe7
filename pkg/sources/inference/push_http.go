package inference

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// PushPattern is the route of the push endpoint, for server.Config.Handlers.
const PushPattern = "POST /v1/push"

// maxPushBody bounds a push request's body.
const maxPushBody = 64 << 10

// ReadToken reads the bearer token of the push endpoint from a file (a
// mounted Secret), trimming surrounding whitespace. An empty token is an
// error: it would accept anyone.
func ReadToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("push token: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("push token file %s is empty", path)
	}
	return b, nil
}

// pushRequest is the body of POST /v1/push.
type pushRequest struct {
	Model     string          `json:"model"`
	Count     json.RawMessage `json:"count"`
	Timestamp string          `json:"timestamp"`
}

// Handler serves POST /v1/push: {"model": "m", "count": N, "timestamp":
// RFC 3339 (optional; default now)}. It answers 204 when the counts are
// stored, 401 without the bearer token, 400 naming the bad field, 413 for
// bodies over 64 KiB and 429 when the store is full. A stored push is
// passed to StoreOptions.Forward, for the peer replicas.
func (s *Store) Handler(token []byte) http.Handler {
	want := sha256.Sum256(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tide-push"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		p, err := decodePush(http.MaxBytesReader(w, r.Body, maxPushBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			http.Error(w, fmt.Sprintf("body larger than %d bytes", maxPushBody), http.StatusRequestEntityTooLarge)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		model, count, at, err := s.validate(p)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		at, err = s.add(model, count, at)
		if err != nil {
			http.Error(w, err.Error(), http.StatusTooManyRequests)
			return
		}
		if s.opts.Forward != nil {
			s.opts.Forward(model, count, at)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// authorized compares the bearer token in constant time (over hashes, so
// that not even the length leaks).
func authorized(r *http.Request, want [32]byte) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// decodePush reads exactly one JSON object with known fields.
func decodePush(body io.Reader) (pushRequest, error) {
	var p pushRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			return p, err
		case errors.As(err, &te):
			return p, fmt.Errorf("field %q: want a %s, got a JSON %s", te.Field, fieldKind(te.Field), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return p, fmt.Errorf("%s; want model, count, timestamp", strings.TrimPrefix(err.Error(), "json: "))
		}
		return p, fmt.Errorf("body is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return p, errors.New("body holds more than one JSON value")
	}
	return p, nil
}

func fieldKind(field string) string {
	if field == "count" {
		return "number"
	}
	return "string"
}

// validate checks a decoded push; every error names the field.
func (s *Store) validate(p pushRequest) (model string, count float64, at time.Time, err error) {
	if p.Model == "" {
		return "", 0, at, errors.New(`field "model": required`)
	}
	if err := checkModel("model", p.Model); err != nil {
		return "", 0, at, errors.New(`field "model": want 1-256 printable characters`)
	}
	if len(p.Count) == 0 || string(p.Count) == "null" {
		return "", 0, at, errors.New(`field "count": required`)
	}
	n, perr := strconv.ParseInt(string(p.Count), 10, 64) // a JSON string or fraction fails here too
	if perr != nil || n < 0 || n > maxPushCount {
		return "", 0, at, fmt.Errorf(`field "count": %s is not an integer between 0 and %d`, p.Count, maxPushCount)
	}
	now := s.opts.Now()
	at = now
	if p.Timestamp != "" {
		if at, err = time.Parse(time.RFC3339Nano, p.Timestamp); err != nil {
			return "", 0, at, fmt.Errorf(`field "timestamp": %q is not RFC 3339 (e.g. 2026-01-02T15:04:05Z)`, p.Timestamp)
		}
		switch {
		case now.Sub(at) > maxPushAge:
			return "", 0, at, fmt.Errorf(`field "timestamp": %s is more than %s old`, p.Timestamp, maxPushAge)
		case at.Sub(now) > maxPushAhead:
			return "", 0, at, fmt.Errorf(`field "timestamp": %s is more than %s in the future`, p.Timestamp, maxPushAhead)
		}
	}
	return p.Model, float64(n), at, nil
}
