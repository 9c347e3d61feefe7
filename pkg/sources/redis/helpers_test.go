package redis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// t0 is the poll time tests use; nothing in the package reads the clock.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustParse parses md, with address set to srv's when md names none.
func mustParse(t testing.TB, srv *testredis.Server, md map[string]string) *Trigger {
	t.Helper()
	m := maps.Clone(md)
	if srv != nil && m["address"] == "" && m["addresses"] == "" && m["host"] == "" {
		m["address"] = srv.Addr
	}
	tr, err := Parse(metadata.Metadata(m), testPolicy)
	if err != nil {
		t.Fatalf("Parse(%v): %v", md, err)
	}
	return tr
}

// open opens the upstream of tr and closes it at cleanup.
func open(t testing.TB, tr *Trigger) *Upstream {
	t.Helper()
	up, err := tr.Query().Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = up.Close() })
	return up.(*Upstream)
}

// pollAt polls the triggers' queries once at now.
func pollAt(t testing.TB, u *Upstream, now time.Time, trs ...*Trigger) []sources.Result {
	t.Helper()
	qs := make([]sources.Query, len(trs))
	for i, tr := range trs {
		qs[i] = tr.Query()
	}
	return u.Poll(ctxT(t), now, qs)
}

// mustSample returns the sample of r or fails the test.
func mustSample(t testing.TB, r sources.Result) sources.Sample {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("unexpected error: %v", r.Err)
	}
	return r.Sample
}

// wantErr fails unless err is set and its text holds every fragment.
func wantErr(t testing.TB, what string, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one holding %q", what, fragments)
		return
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s: error %q does not hold %q", what, err, f)
		}
	}
}

func isConfigError(err error) (*metadata.ConfigError, bool) {
	var ce *metadata.ConfigError
	return ce, errors.As(err, &ce)
}

// delta is the difference of two Stats.
func delta(a, b Stats) Stats {
	return Stats{Polls: b.Polls - a.Polls, RoundTrips: b.RoundTrips - a.RoundTrips,
		Pipelines: b.Pipelines - a.Pipelines, Commands: b.Commands - a.Commands}
}

// xaddArgs adds entry i+1-0 with one field to stream s.
func xaddArgs(i int) *goredis.XAddArgs {
	return &goredis.XAddArgs{Stream: "s", ID: fmt.Sprintf("%d-0", i+1), Values: []any{"n", i}}
}

// testPolicy lets ...File keys read any file a test names: the tests
// here are about Redis; the file rules have their own tests.
var testPolicy = func() sources.Policy {
	f, err := metadata.NewFiles([]string{"/"}, "")
	if err != nil {
		panic(err)
	}
	return sources.Policy{Files: f}
}()
