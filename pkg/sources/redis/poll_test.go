package redis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/internal/testredis"
)

// TestPollKeyTypes reads every counted type and checks the round trips: the
// first poll learns types (TYPE, then depth), later polls are one pipeline
// with one command per key.
func TestPollKeyTypes(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "l", "a", "b", "c")
	srv.Do("ZADD", "z", 1, "a", 2, "b")
	srv.Do("SADD", "s", "a", "b", "c", "d")
	srv.Do("HSET", "h", "f1", "1", "f2", "2", "f3", "3", "f4", "4", "f5", "5")
	tr := mustParse(t, srv, map[string]string{"listName": "l,z,s,h"})
	u := open(t, tr)

	s := mustSample(t, pollAt(t, u, t0, tr)[0])
	if s.Value != 14 || s.Activity != 14 || len(s.Parts) != 4 || len(s.Notes) != 0 {
		t.Fatalf("sample %+v, want 3+2+4+5 = 14 over 4 parts", s)
	}
	if p := s.Parts[0]; p.Name != "h" || p.Value != 5 || p.Info != "hash" {
		t.Errorf("part 0 = %+v, want h = 5 (hash)", p)
	}
	before := u.Stats()
	s = mustSample(t, pollAt(t, u, t0.Add(time.Second), tr)[0])
	d := delta(before, u.Stats())
	if s.Value != 14 || d.Polls != 1 || d.RoundTrips != 1 || d.Pipelines != 1 || d.Commands != 4 {
		t.Errorf("steady poll: value %v, stats %+v, want 14 in 1 pipeline of 4 commands", s.Value, d)
	}
}

// TestDatabaseIndex: databaseIndex selects the keyspace, and each database
// is its own upstream.
func TestDatabaseIndex(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	db1Client := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DB: 1, Protocol: 2, DisableIdentity: true})
	defer db1Client.Close()
	if err := db1Client.RPush(ctxT(t), "q", "1", "2").Err(); err != nil {
		t.Fatal(err)
	}
	db0 := mustParse(t, srv, map[string]string{"listName": "q"})
	db1 := mustParse(t, srv, map[string]string{"listName": "q", "databaseIndex": "1"})
	if db0.Query().Upstream().Key == db1.Query().Upstream().Key {
		t.Fatal("databases share an upstream")
	}
	for _, tc := range []struct {
		tr   *Trigger
		want float64
	}{{db0, 0}, {db1, 2}} {
		if s := mustSample(t, pollAt(t, open(t, tc.tr), t0, tc.tr)[0]); s.Value != tc.want {
			t.Errorf("%s: %v, want %v", tc.tr.Query().Upstream().Name, s.Value, tc.want)
		}
	}
}

// TestPollMissingAndWrongKeys: a missing key is 0 with a note, a string key
// or a stream under listName is an error naming it and its type, and each
// fails only its own trigger.
func TestPollMissingAndWrongKeys(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "q", "x")
	srv.Do("SET", "str", "v")
	srv.Do("XADD", "st", "*", "f", "v")
	good := mustParse(t, srv, map[string]string{"listName": "q,absent"})
	str := mustParse(t, srv, map[string]string{"listName": "str"})
	st := mustParse(t, srv, map[string]string{"listName": "st"})
	u := open(t, good)
	res := pollAt(t, u, t0, str, good, st)
	wantErr(t, "string key", res[0].Err, `key "str" is a string`)
	wantErr(t, "stream key", res[2].Err, `key "st" is a stream`, "stream key instead")
	s := mustSample(t, res[1])
	if s.Value != 1 || len(s.Notes) != 1 || s.Notes[0] != `key "absent" does not exist: counted as 0` {
		t.Errorf("good trigger: %+v, want 1 and a note on the missing key", s)
	}
	// Once the key exists it is counted, with no note, in the same poll
	// that learns its type.
	srv.Do("RPUSH", "absent", "a", "b")
	if s := mustSample(t, pollAt(t, u, t0, good)[0]); s.Value != 3 || len(s.Notes) != 0 {
		t.Errorf("after creation: %+v, want 3 without notes", s)
	}
}

// TestPollTypeChange: a key whose cached type went stale (WRONGTYPE) is
// asked TYPE again and read in the same poll.
func TestPollTypeChange(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "k", "a")
	tr := mustParse(t, srv, map[string]string{"listName": "k"})
	u := open(t, tr)
	if s := mustSample(t, pollAt(t, u, t0, tr)[0]); s.Value != 1 {
		t.Fatalf("list: %v", s.Value)
	}
	srv.Do("DEL", "k")
	srv.Do("SADD", "k", "a", "b")
	before := u.Stats()
	s := mustSample(t, pollAt(t, u, t0, tr)[0])
	if s.Value != 2 || s.Parts[0].Info != "set" {
		t.Errorf("after the type change: %+v, want the set's 2", s)
	}
	if d := delta(before, u.Stats()); d.Pipelines != 3 {
		t.Errorf("stats %+v: want 3 pipelines (LLEN: WRONGTYPE, TYPE, SCARD)", d)
	}
	// A drained list is a missing key: the cached type reads 0, no TYPE.
	srv.Do("DEL", "k")
	srv.Do("RPUSH", "k", "a")
	srv.Do("LPOP", "k")
	if s := mustSample(t, pollAt(t, u, t0, tr)[0]); s.Value != 0 {
		t.Errorf("drained: %v", s.Value)
	}
}

// TestPollGlob sums the keys a pattern matches, refreshes the match every 30
// s of poll time (not every poll), counts a key both named and matched
// once, and skips other types with a note.
func TestPollGlob(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "bull:a:wait", "1", "2")
	srv.Do("RPUSH", "bull:b:wait", "1")
	srv.Do("SET", "bull:c:wait", "not a queue")
	srv.Do("RPUSH", "bull:a:done", "1", "1", "1", "1")
	tr := mustParse(t, srv, map[string]string{"listName": "bull:*:wait,bull:a:wait"})
	none := mustParse(t, srv, map[string]string{"listName": "nothing:*"})
	u := open(t, tr)

	res := pollAt(t, u, t0, tr, none)
	s := mustSample(t, res[0])
	if s.Value != 3 || len(s.Parts) != 2 {
		t.Errorf("glob: %+v, want 2+1 over two lists", s)
	}
	if want := `pattern "bull:*:wait" matches keys of type string, which are not counted`; strings.Join(s.Notes, "|") != want {
		t.Errorf("notes %q, want %q", s.Notes, want)
	}
	if s := mustSample(t, res[1]); s.Value != 0 || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "matches no key") {
		t.Errorf("no match: %+v", s)
	}

	srv.Do("RPUSH", "bull:d:wait", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1")
	srv.Do("RPUSH", "bull:a:wait", "3")
	before := u.Stats()
	if s := mustSample(t, pollAt(t, u, t0.Add(29*time.Second), tr)[0]); s.Value != 4 {
		t.Errorf("before the refresh: %v, want 4 (the new key not seen yet)", s.Value)
	}
	if d := delta(before, u.Stats()); d.RoundTrips != 1 {
		t.Errorf("poll between refreshes: %+v, want one round trip and no SCAN", d)
	}
	if s := mustSample(t, pollAt(t, u, t0.Add(30*time.Second), tr)[0]); s.Value != 14 {
		t.Errorf("after the refresh: %v, want 4+10", s.Value)
	}
}

// TestPollGlobBound: more than 10,000 matches count the first 10,000 and
// say that the depth is at least the value.
func TestPollGlobBound(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	fillLists(t, srv, "many:", maxGlobKeys+5)
	tr := mustParse(t, srv, map[string]string{"listName": "many:*"})
	s := mustSample(t, pollAt(t, open(t, tr), t0, tr)[0])
	want := fmt.Sprintf(noteTooMany, "many:*", maxGlobKeys, maxGlobKeys)
	if s.Value != maxGlobKeys || len(s.Notes) != 1 || s.Notes[0] != want {
		t.Errorf("value %v notes %q, want %d and %q", s.Value, s.Notes, maxGlobKeys, want)
	}
}

// TestPollSharesOnePipeline: lists, a pattern and streams of several
// triggers are read in one pipeline once types are known and the pattern
// is fresh, and a key shared by triggers is read once.
func TestPollSharesOnePipeline(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("RPUSH", "a", "1")
	srv.Do("RPUSH", "b", "1", "2")
	srv.Do("RPUSH", "g:1", "1")
	srv.Do("XADD", "s", "*", "f", "v")
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	trs := []*Trigger{
		mustParse(t, srv, map[string]string{"listName": "a,b"}),
		mustParse(t, srv, map[string]string{"listName": "b", "listLength": "1"}),
		mustParse(t, srv, map[string]string{"listName": "g:*"}),
		mustParse(t, srv, map[string]string{"stream": "s"}),
		mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g"}),
		mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g", "lagCount": "1"}),
	}
	u := open(t, trs[0])
	pollAt(t, u, t0, trs...)
	before := u.Stats()
	res := pollAt(t, u, t0, trs...)
	want := []float64{3, 2, 1, 1, 0, 1}
	for i, w := range want {
		if s := mustSample(t, res[i]); s.Value != w {
			t.Errorf("trigger %d: %v, want %v", i, s.Value, w)
		}
	}
	// a, b, g:1; TYPE s, XLEN, XPENDING, and for the group (shared by two
	// triggers) XINFO GROUPS, STREAM and CONSUMERS. It has read nothing, so
	// its oldest undelivered entry is the stream's first: no XRANGE.
	if d := delta(before, u.Stats()); d.RoundTrips != 1 || d.Commands != 9 {
		t.Errorf("stats %+v, want one pipeline of 9 commands", d)
	}
}

// fillLists creates n one-element lists named prefix0..prefix<n-1>.
func fillLists(t testing.TB, srv *testredis.Server, prefix string, n int) {
	t.Helper()
	ctx := ctxT(t)
	pipe := srv.Client().Pipeline()
	for i := range n {
		pipe.RPush(ctx, fmt.Sprintf("%s%d", prefix, i), "x")
		if pipe.Len() == 1000 || i == n-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}
