package redis

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestStreamModes reads length, pending and lag of one stream, and tells an
// empty stream (0) from a missing one (not found).
func TestStreamModes(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	for range 6 {
		srv.Do("XADD", "s", "*", "f", "v")
	}
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	srv.Do("XREADGROUP", "GROUP", "g", "c1", "COUNT", "4", "STREAMS", "s", ">") // 4 pending, 2 undelivered
	srv.Do("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
	length := mustParse(t, srv, map[string]string{"stream": "s"})
	pending := mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g"})
	lag := mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g", "lagCount": "2"})
	empty := mustParse(t, srv, map[string]string{"stream": "empty"})
	emptyLag := mustParse(t, srv, map[string]string{"stream": "empty", "consumerGroup": "g", "lagCount": "2"})
	res := pollAt(t, open(t, length), t0, length, pending, lag, empty, emptyLag)
	want := []struct {
		value float64
		part  string
		info  string
	}{{6, "s", "length"}, {4, "s/g", "pending"}, {2, "s/g", "lag"}, {0, "empty", "length"}, {0, "empty/g", "lag"}}
	for i, w := range want {
		s := mustSample(t, res[i])
		if s.Value != w.value || s.Activity != w.value || len(s.Parts) != 1 || s.Parts[0].Name != w.part || s.Parts[0].Info != w.info {
			t.Errorf("trigger %d: %+v, want %v as part %s (%s)", i, s, w.value, w.part, w.info)
		}
	}
}

// TestStreamMissing: a missing stream or group fails only the triggers that
// read it, as not found naming it (KEDA #7447: there, one missing stream
// broke every trigger of the scaled object).
func TestStreamMissing(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("XADD", "s", "*", "f", "v")
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	srv.Do("RPUSH", "list", "x")
	srv.Do("RPUSH", "notastream", "x")
	trs := []*Trigger{
		mustParse(t, srv, map[string]string{"stream": "nostream"}),
		mustParse(t, srv, map[string]string{"stream": "nostream", "consumerGroup": "g"}),
		mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "nogroup"}),
		mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "nogroup", "lagCount": "1"}),
		mustParse(t, srv, map[string]string{"stream": "notastream", "consumerGroup": "g", "lagCount": "1"}),
		mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g", "lagCount": "1"}),
		mustParse(t, srv, map[string]string{"listName": "list"}),
	}
	res := pollAt(t, open(t, trs[0]), t0, trs...)
	missing := []struct{ frags []string }{
		{[]string{`stream "nostream"`}},
		{[]string{`stream "nostream"`}},
		{[]string{`stream "s"`, `consumer group "nogroup"`}},
		{[]string{`stream "s"`, `consumer group "nogroup"`}},
	}
	for i, m := range missing {
		if !errors.Is(res[i].Err, sources.ErrNotFound) {
			t.Errorf("trigger %d: %v, want not found", i, res[i].Err)
		}
		wantErr(t, fmt.Sprint("trigger ", i), res[i].Err, m.frags...)
	}
	wantErr(t, "list as stream", res[4].Err, `key "notastream" is a list, not a stream`)
	if s := mustSample(t, res[5]); s.Value != 1 {
		t.Errorf("healthy lag trigger: %v, want 1", s.Value)
	}
	if s := mustSample(t, res[6]); s.Value != 1 {
		t.Errorf("healthy list trigger: %v, want 1", s.Value)
	}
}

// TestStreamActivatesOnOneMessage (KEDA #7835): with the default
// activationLagCount of 0 a single undelivered entry activates, in length
// and lag mode.
func TestStreamActivatesOnOneMessage(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM")
	lag := mustParse(t, srv, map[string]string{"stream": "jobs", "consumerGroup": "workers", "lagCount": "10"})
	length := mustParse(t, srv, map[string]string{"stream": "jobs"})
	u := open(t, lag)
	for i, tr := range []*Trigger{lag, length} {
		if s := mustSample(t, pollAt(t, u, t0, tr)[0]); s.Activity > tr.Activation() {
			t.Errorf("trigger %d active on an empty stream", i)
		}
	}
	srv.Do("XADD", "jobs", "*", "job", "1")
	for i, tr := range []*Trigger{lag, length} {
		s := mustSample(t, pollAt(t, u, t0, tr)[0])
		if m := tr.Evaluate(s); s.Activity <= tr.Activation() || m.Value != 1 {
			t.Errorf("trigger %d: %+v, want active with value 1", i, m)
		}
	}
}

// TestStreamNilLag produces a nil lag for real: XDEL of an undelivered entry
// makes Redis unable to tell the lag, go-redis's typed XInfoGroups reports
// it as -1, and we count the undelivered entries with XRANGE instead of
// reading 0.
func TestStreamNilLag(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	var ids []string
	for i := range 5 {
		ids = append(ids, srv.Do("XADD", "s", "*", "n", i).(string))
	}
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	srv.Do("XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">")
	srv.Do("XDEL", "s", ids[3]) // undelivered: ids[2] and ids[4] remain

	groups, err := srv.Client().XInfoGroups(ctxT(t), "s").Result()
	if err != nil || len(groups) != 1 || groups[0].Lag != -1 {
		t.Fatalf("go-redis XInfoGroups = %+v, %v; want the group with Lag -1 (nil lag)", groups, err)
	}
	tr := mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g", "lagCount": "1"})
	u := open(t, tr)
	s := mustSample(t, pollAt(t, u, t0, tr)[0])
	if s.Value != 2 || s.Parts[0].Info != "lag counted with XRANGE" || len(s.Notes) != 0 {
		t.Errorf("nil lag: %+v, want 2 counted with XRANGE", s)
	}
	if m := tr.Evaluate(s); s.Activity <= tr.Activation() {
		t.Errorf("nil lag with waiting entries must be active: %+v", m)
	}
}

// TestStreamNilLagBound: past 10,000 undelivered entries the count stops at
// the bound and says the lag is at least that.
func TestStreamNilLagBound(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	ctx := ctxT(t)
	pipe := srv.Client().Pipeline()
	for i := range maxLagCount + 10 {
		pipe.XAdd(ctx, xaddArgs(i))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	srv.Do("XDEL", "s", "5000-0") // undelivered, mid-stream: the lag becomes nil
	tr := mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g", "lagCount": "1"})
	u := open(t, tr)
	before := u.Stats()
	s := mustSample(t, pollAt(t, u, t0, tr)[0])
	want := fmt.Sprintf(noteLagAtLeast, "g", "s", maxLagCount)
	if s.Value != maxLagCount || len(s.Notes) != 1 || s.Notes[0] != want {
		t.Errorf("value %v notes %q, want %d and %q", s.Value, s.Notes, maxLagCount, want)
	}
	if d := delta(before, u.Stats()); d.Pipelines > 1+maxLagCount/lagPage+1 {
		t.Errorf("stats %+v: the count must stay bounded", d)
	}
}
