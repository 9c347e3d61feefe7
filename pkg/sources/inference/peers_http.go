package inference

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// ForwardPattern is the route peers forward pushes to, for
// server.Config.Handlers beside PushPattern.
const ForwardPattern = "POST " + forwardPath

const forwardPath = "/v1/push/forwarded"

// replicaHeader carries the sending replica's identity: a replica that
// receives its own identity answers 409, and the sender stops sending to
// itself (a peer list that includes this replica would double its counts).
const replicaHeader = "X-Tide-Replica"

// maxForwardBody bounds a forwarded batch's body, on both sides.
const maxForwardBody = 256 << 10

// forwardBatch is the body of POST /v1/push/forwarded: pushes another
// replica accepted, with their original timestamps.
type forwardBatch struct {
	Pushes []pushRequest `json:"pushes"`
}

// forwardAnswer is the 200 answer when some entries were refused.
type forwardAnswer struct {
	Stored  int    `json:"stored"`
	Refused int    `json:"refused"`
	Error   string `json:"error"` // the first refusal
}

// encodeBatch encodes the longest prefix of q that fits maxForwardBody;
// n is its length (at least 1: one entry is far smaller than the bound).
func encodeBatch(q []pushEntry) (body []byte, n int) {
	var b bytes.Buffer
	b.WriteString(`{"pushes":[`)
	for _, e := range q {
		model, _ := json.Marshal(e.model) // a string always marshals
		entry := fmt.Sprintf(`{"model":%s,"count":%s,"timestamp":%q}`, model,
			strconv.FormatFloat(e.count, 'f', 0, 64), e.at.UTC().Format(time.RFC3339Nano))
		if n > 0 && b.Len()+1+len(entry)+2 > maxForwardBody {
			break
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(entry)
		n++
	}
	b.WriteString("]}")
	return b.Bytes(), n
}

// deliver sends one batch of n entries to p and counts the outcome. A
// peer that starts failing is logged once, and again when it recovers.
func (f *Forwarder) deliver(ctx context.Context, p *peer, body []byte, n int) {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	fail := func(why string) {
		f.met.drop(n, dropPeerError)
		if !p.failing && ctx.Err() != context.Canceled {
			p.failing = true
			f.opts.Logger.Warn("push forwarding: a peer is not taking pushes; they are dropped and counted", "peer", p.url, "err", why)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url+forwardPath, bytes.NewReader(body))
	if err != nil {
		fail(err.Error())
		return
	}
	req.Header.Set("Authorization", "Bearer "+string(f.opts.Token))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(replicaHeader, f.id)
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		fail(err.Error())
		return
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		f.met.delivered(n)
	case http.StatusOK:
		var a forwardAnswer
		if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&a); err != nil || a.Refused < 0 || a.Refused > n {
			fail("an answer that is not a forward result")
			return
		}
		f.met.delivered(n - a.Refused)
		f.met.drop(a.Refused, dropRefused)
	case http.StatusConflict:
		p.mu.Lock()
		p.self = true
		p.mu.Unlock()
		f.met.drop(n+len(p.take()), dropSelf)
		f.opts.Logger.Warn("push forwarding: the peer list includes this replica itself; it is left out", "peer", p.url)
		return
	default:
		fail(resp.Status)
		return
	}
	if p.failing {
		p.failing = false
		f.opts.Logger.Info("push forwarding: a peer takes pushes again", "peer", p.url)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // reuse the connection
}

// ForwardedHandler serves POST /v1/push/forwarded: a batch of pushes
// another replica accepted, stored with their original timestamps and
// never forwarded again (no loops, no double counting). It takes the push
// token; self is this replica's forwarder identity (Forwarder.ID; "" when
// it forwards nothing), so a batch from itself is refused with 409. It
// answers 204 when every entry is stored, 200 with {"stored","refused",
// "error"} when some are refused (too old, store full), 400 for a body
// that is not a batch and 413 above 256 KiB.
func (s *Store) ForwardedHandler(token []byte, self string) http.Handler {
	want := sha256.Sum256(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, want) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="tide-push"`)
			http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
			return
		}
		if self != "" && r.Header.Get(replicaHeader) == self {
			http.Error(w, "this batch comes from this replica: its peer list includes itself", http.StatusConflict)
			return
		}
		var b forwardBatch
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxForwardBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
				http.Error(w, fmt.Sprintf("body larger than %d bytes", maxForwardBody), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "body is not a batch of pushes: "+err.Error(), http.StatusBadRequest)
			return
		}
		var a forwardAnswer
		for i, p := range b.Pushes {
			err := s.storeForwarded(p)
			if err == nil {
				a.Stored++
				continue
			}
			if a.Refused++; a.Error == "" {
				a.Error = fmt.Sprintf("push %d: %v", i, err)
			}
		}
		if a.Refused == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a)
	})
}

// storeForwarded validates and stores one forwarded push, which must carry
// its timestamp: stamping it on arrival would move it to another second.
func (s *Store) storeForwarded(p pushRequest) error {
	if p.Timestamp == "" {
		return errors.New(`field "timestamp": required in a forwarded push`)
	}
	model, count, at, err := s.validate(p)
	if err != nil {
		return err
	}
	return s.Add(model, count, at)
}
