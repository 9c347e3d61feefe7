package redis

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/sources"
)

// triggersOf builds one trigger of each kind on md's deployment.
func triggersOf(t testing.TB, md map[string]string) []*Trigger {
	t.Helper()
	var trs []*Trigger
	for _, what := range []map[string]string{
		{"listName": "q"}, {"listName": "q:*"}, {"stream": "s"},
		{"stream": "s", "consumerGroup": "g"}, {"stream": "s", "consumerGroup": "g", "lagCount": "1"},
	} {
		m := map[string]string{}
		for k, v := range md {
			m[k] = v
		}
		for k, v := range what {
			m[k] = v
		}
		trs = append(trs, mustParse(t, nil, m))
	}
	return trs
}

// wantAllFail checks that every result is an error naming where, without
// the secret.
func wantAllFail(t *testing.T, res []sources.Result, where, secret string) {
	t.Helper()
	for i, r := range res {
		wantErr(t, "trigger "+string(rune('0'+i)), r.Err, where)
		if r.Err != nil && secret != "" && strings.Contains(r.Err.Error(), secret) {
			t.Errorf("trigger %d: error %q holds the password", i, r.Err)
		}
	}
}

func TestWrongPassword(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{Args: []string{"--requirepass", "right-pw"}, Password: "right-pw"})
	trs := triggersOf(t, map[string]string{"address": srv.Addr, "password": "wrong-PW-secret"})
	res := pollAt(t, open(t, trs[0]), t0, trs...)
	wantAllFail(t, res, "redis "+srv.Addr, "wrong-PW-secret")
	wantErr(t, "first trigger", res[0].Err, "WRONGPASS")

	ok := triggersOf(t, map[string]string{"address": srv.Addr, "passwordFromEnv": "right-pw"})
	if ok[0].Query().Upstream().Key == trs[0].Query().Upstream().Key {
		t.Fatal("different passwords share an upstream")
	}
	srv.Do("RPUSH", "q", "x")
	if s := mustSample(t, pollAt(t, open(t, ok[0]), t0, ok[0])[0]); s.Value != 1 {
		t.Errorf("right password: %v", s.Value)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	trs := triggersOf(t, map[string]string{"address": addr, "password": "pw-SECRET"})
	u := open(t, trs[0])
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	qs := make([]sources.Query, len(trs))
	for i, tr := range trs {
		qs[i] = tr.Query()
	}
	res := u.Poll(ctx, t0, qs)
	if ctx.Err() != nil {
		t.Errorf("poll of a refused address ran into its deadline")
	}
	wantAllFail(t, res, "redis "+addr, "pw-SECRET")
}

// TestPollRespectsContext: a server that accepts but never answers holds a
// poll only until its context ends.
func TestPollRespectsContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	trs := triggersOf(t, map[string]string{"address": l.Addr().String()})
	u := open(t, trs[0])
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan []sources.Result)
	go func() { done <- u.Poll(ctx, t0, []sources.Query{trs[0].Query(), trs[2].Query()}) }()
	select {
	case res := <-done:
		for i, r := range res {
			if !errors.Is(r.Err, context.DeadlineExceeded) {
				t.Errorf("query %d: %v, want the deadline", i, r.Err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("poll ignored its context")
	}
}

// TestServerRestart: polls fail while the server is down and succeed on the
// first poll after it is back on the same port.
func TestServerRestart(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "q", "x")
	tr := mustParse(t, srv, map[string]string{"listName": "q"})
	u := open(t, tr)
	if s := mustSample(t, pollAt(t, u, t0, tr)[0]); s.Value != 1 {
		t.Fatalf("before: %v", s.Value)
	}
	srv.Stop()
	wantErr(t, "while down", pollAt(t, u, t0.Add(2*time.Second), tr)[0].Err, "redis "+srv.Addr)
	srv.Restart()
	srv.Do("RPUSH", "q", "x", "y")
	if s := mustSample(t, pollAt(t, u, t0.Add(4*time.Second), tr)[0]); s.Value != 2 {
		t.Errorf("after restart: %v, want 2 (nothing persisted, 2 pushed)", s.Value)
	}
}

// TestEngineSharesAndIsolates: triggers with different keys and thresholds
// on one deployment share one upstream in the engine, and a deployment that
// is down fails only its own triggers, naming itself.
func TestEngineSharesAndIsolates(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "a", "1", "2")
	srv.Do("XADD", "s", "*", "f", "v")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	e := sources.NewEngine(sources.Options{
		Metrics: metrics.New(prometheus.NewRegistry()),
		Logger:  slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)),
		Now:     func() time.Time { return t0 },
	})
	defer e.Close()
	a := mustParse(t, srv, map[string]string{"listName": "a", "listLength": "1"})
	s := mustParse(t, srv, map[string]string{"stream": "s", "streamLength": "3"})
	down := mustParse(t, nil, map[string]string{"address": dead, "listName": "a"})
	if _, err := e.Read(ctxT(t), down.Query()); !errors.Is(err, sources.ErrUnavailable) || !strings.Contains(err.Error(), dead) {
		t.Errorf("dead deployment: %v, want unavailable naming %s", err, dead)
	}
	for _, tc := range []struct {
		tr   *Trigger
		want float64
	}{{a, 2}, {s, 1}} {
		got, err := e.Read(ctxT(t), tc.tr.Query())
		if err != nil || got.Value != tc.want || !got.Time.Equal(t0) {
			t.Errorf("Read: %v at %v, %v; want %v at t0", got.Value, got.Time, err, tc.want)
		}
	}
	if st := e.Stats(); st.Upstreams != 2 || st.Queries != 3 {
		t.Errorf("engine %+v, want two upstreams (one shared by two queries)", st)
	}
}
