package redis

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testci"
	"github.com/tide-scaler/tide/internal/testredis"
	"github.com/tide-scaler/tide/pkg/sources"
)

// idAt is the entry ID Redis would generate at t0+d (XADD *), with seq.
func idAt(d time.Duration, seq int) string {
	return fmt.Sprintf("%d-%d", t0.Add(d).UnixMilli(), seq)
}

// xaddAt adds entries to stream with IDs at t0+d, sequence from seq on.
func xaddAt(srv *testredis.Server, stream string, d time.Duration, seq, n int) {
	for i := range n {
		srv.Do("XADD", stream, idAt(d, seq+i), "n", i)
	}
}

// serverVersion returns the major version of srv and its full version.
func serverVersion(t *testing.T, srv *testredis.Server) (int, string) {
	t.Helper()
	info, err := srv.Client().Info(ctxT(t), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			major, err := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
			if err != nil {
				t.Fatalf("redis_version %q", v)
			}
			return major, v
		}
	}
	t.Fatal("INFO server has no redis_version")
	return 0, ""
}

// mustFlow returns the flow of r or fails the test.
func mustFlow(t *testing.T, what string, r sources.Result) *sources.Flow {
	t.Helper()
	s := mustSample(t, r)
	if s.Flow == nil {
		t.Fatalf("%s: no flow in %+v", what, s)
	}
	return s.Flow
}

// TestFlowLagSeconds: the age of the oldest undelivered entry comes from its
// ID, exactly, by every path that finds it, and only a group in the middle
// of its stream costs a second round trip.
func TestFlowLagSeconds(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	read := func(stream string, n int) {
		srv.Do("XREADGROUP", "GROUP", "g", "c", "COUNT", n, "STREAMS", stream, ">")
	}
	// mid: one of three read; the oldest undelivered is 60 s old.
	for i, d := range []time.Duration{-90, -60, -30} {
		xaddAt(srv, "mid", d*time.Second, i, 1)
	}
	srv.Do("XGROUP", "CREATE", "mid", "g", "0")
	read("mid", 1)
	// new: nothing read; the oldest undelivered is the first entry.
	xaddAt(srv, "new", -90*time.Second, 0, 2)
	srv.Do("XGROUP", "CREATE", "new", "g", "0")
	// done: everything read.
	xaddAt(srv, "done", -90*time.Second, 0, 2)
	srv.Do("XGROUP", "CREATE", "done", "g", "0")
	read("done", 2)
	srv.Do("XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
	// trimmed: read one, then trimmed past it: the first entry is next.
	for i, d := range []time.Duration{-90, -60, -30} {
		xaddAt(srv, "trimmed", d*time.Second, i, 1)
	}
	srv.Do("XGROUP", "CREATE", "trimmed", "g", "0")
	read("trimmed", 1)
	srv.Do("XTRIM", "trimmed", "MAXLEN", 1)
	// nil: an undelivered entry deleted makes the lag nil; a lag query
	// counts it, and its count's first entry is the oldest.
	for i, d := range []time.Duration{-90, -75, -60, -45, -30} {
		xaddAt(srv, "nil", d*time.Second, i, 1)
	}
	srv.Do("XGROUP", "CREATE", "nil", "g", "0")
	read("nil", 2)
	srv.Do("XDEL", "nil", idAt(-45*time.Second, 3))
	// nilp: the same read by a pending query alone, which counts nothing:
	// XRANGE finds -75 s after the deleted -60 s.
	for i, d := range []time.Duration{-90, -75, -60, -45} {
		xaddAt(srv, "nilp", d*time.Second, i, 1)
	}
	srv.Do("XGROUP", "CREATE", "nilp", "g", "0")
	read("nilp", 1)
	srv.Do("XDEL", "nilp", idAt(-60*time.Second, 2))
	// future: an ID ahead of now (clocks apart) is 0 old.
	xaddAt(srv, "future", 5*time.Second, 0, 1)
	srv.Do("XGROUP", "CREATE", "future", "g", "0")
	// chosen: IDs the producer chose are read as milliseconds all the
	// same; the age is meaningless, and nothing tells.
	srv.Do("XADD", "chosen", "1-0", "n", 1)
	srv.Do("XGROUP", "CREATE", "chosen", "g", "0")

	lag := func(stream string) *Trigger {
		return mustParse(t, srv, map[string]string{"stream": stream, "consumerGroup": "g", "lagCount": "1"})
	}
	pending := func(stream string) *Trigger {
		return mustParse(t, srv, map[string]string{"stream": stream, "consumerGroup": "g"})
	}
	// age is at t0, negative for an entry from the future; none: no entry
	// is undelivered, so the lag is 0 at any time.
	tests := []struct {
		name string
		tr   *Trigger
		age  float64
		none bool
	}{
		{"mid", lag("mid"), 60, false},
		{"mid pending", pending("mid"), 60, false},
		{"new", lag("new"), 90, false},
		{"done", lag("done"), 0, true},
		{"empty", lag("empty"), 0, true},
		{"trimmed", lag("trimmed"), 30, false},
		{"nil lag counted", lag("nil"), 60, false},
		{"nil lag pending", pending("nil"), 60, false},
		{"nil lag pending alone", pending("nilp"), 75, false},
		{"future", lag("future"), -5, false},
		{"chosen IDs", lag("chosen"), float64(t0.UnixMilli()-1) / 1000, false},
	}
	trs := make([]*Trigger, len(tests))
	for i, tc := range tests {
		trs[i] = tc.tr
	}
	u := open(t, trs[0])
	for _, after := range []time.Duration{0, 10 * time.Second} {
		res := pollAt(t, u, t0.Add(after), trs...)
		for i, tc := range tests {
			want := max(tc.age+after.Seconds(), 0)
			if tc.none {
				want = 0
			}
			f := mustFlow(t, tc.name, res[i])
			if math.Abs(f.LagSeconds-want) > 1e-6 || !f.LagSecondsExact {
				t.Errorf("%s at +%s: lag %vs exact %v, want exactly %vs", tc.name, after, f.LagSeconds, f.LagSecondsExact, want)
			}
		}
	}

	// Round trips: resolved from the first pipeline, or not.
	for _, tc := range []struct {
		trs  []*Trigger
		want int64
	}{
		{[]*Trigger{lag("new"), lag("done"), lag("empty"), lag("trimmed"), lag("future")}, 1},
		{[]*Trigger{lag("mid"), pending("mid"), lag("new"), pending("nilp")}, 2},
		{[]*Trigger{lag("nil"), pending("nil")}, 2}, // the count's page, no XRANGE of its own
	} {
		before := u.Stats()
		pollAt(t, u, t0, tc.trs...)
		if d := delta(before, u.Stats()); d.RoundTrips != tc.want {
			t.Errorf("%d triggers: %+v, want %d round trips", len(tc.trs), d, tc.want)
		}
	}
}

// TestFlowRates: rates from entries-added and entries-read between polls at
// injected times, the per-consumer rate once the consumer was seen working
// through a backlog, the recent consumers, and lagTarget deciding from them.
func TestFlowRates(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	major, version := serverVersion(t, srv)
	read := func(consumer string, n int) {
		srv.Do("XREADGROUP", "GROUP", "g", consumer, "COUNT", n, "STREAMS", "s", ">")
	}
	xaddAt(srv, "s", -100*time.Second, 0, 100)
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	read("c1", 10)
	lag := mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g", "lagCount": "1000",
		"metricMode": "replicas", "lagTarget": "30s"})
	pending := mustParse(t, srv, map[string]string{"stream": "s", "consumerGroup": "g"})
	u := open(t, lag)
	res := pollAt(t, u, t0, lag, pending)
	for i, r := range res {
		f := mustFlow(t, "first poll", r)
		if f.Produced != 0 || f.Consumed != 0 || f.PerConsumer != 0 || f.Consumers != 1 || f.LagSeconds != 100 || !f.LagSecondsExact {
			t.Errorf("trigger %d, first poll: %+v, want no rates, 1 consumer, 100 s exact", i, *f)
		}
	}
	if m := lag.Evaluate(res[0].Sample); m.Rule != "" || m.Replicas != 1 || !strings.Contains(m.Reason, "lagCount decides") {
		t.Errorf("without rates: %+v, want lagCount's 1 replica and a reason", m)
	}
	// 50 added and 30 read in each of two 10 s intervals.
	for step := 1; step <= 2; step++ {
		xaddAt(srv, "s", -time.Duration(10-step)*time.Second, 0, 50)
		read("c1", 30)
		res = pollAt(t, u, t0.Add(time.Duration(step)*10*time.Second), lag, pending)
	}
	s := mustSample(t, res[0])
	f := mustFlow(t, "third poll", res[0])
	// The oldest undelivered entry is of the first batch, added at t0-100s.
	if f.Consumers != 1 || f.LagSeconds != 120 || !f.LagSecondsExact {
		t.Errorf("third poll: %+v, want 1 consumer, 120 s exact", *f)
	}
	if major < 7 {
		if f.Produced != 0 || f.Consumed != 0 || f.PerConsumer != 0 {
			t.Errorf("Redis %s: rates %+v, want none", version, *f)
		}
		want := fmt.Sprintf(noteNoRates, "s", "g")
		if !slices.Contains(s.Notes, want) {
			t.Errorf("Redis %s: notes %q, want %q", version, s.Notes, want)
		}
		testci.Missing(t, "redis-server %s has no entries-added or entries-read: the rate assertions need Redis >= 7 "+
			"(Debian 12's redis-server is 7.0; scripts/deps.sh checks the version)", version)
	}
	if len(s.Notes) != 0 {
		t.Errorf("notes %q, want none", s.Notes)
	}
	if f.Produced != 5 || f.Consumed != 3 || f.PerConsumer != 3 {
		t.Errorf("rates %+v, want 5/s produced, 3/s consumed, 3/s per consumer", *f)
	}
	if p := mustFlow(t, "pending", res[1]); *p != *f {
		t.Errorf("pending query's flow %+v, want the lag query's %+v", *p, *f)
	}
	// (5/s + 130 in 30s) / 3/s = 3.1 -> 4; lagCount 1000 alone says 1.
	if m := lag.Evaluate(s); s.Value != 130 || m.Replicas != 4 || m.Rule != RuleLagTarget {
		t.Errorf("lag %v: %+v, want 4 replicas by %s", s.Value, m, RuleLagTarget)
	}

	read("c2", 1)
	f = mustFlow(t, "two consumers", pollAt(t, u, t0.Add(30*time.Second), lag)[0])
	if f.Consumers != 2 {
		t.Errorf("consumers %d, want 2", f.Consumers)
	}
	// A query no poll reads for 15 minutes loses its estimate.
	other := mustParse(t, srv, map[string]string{"stream": "s"})
	pollAt(t, u, t0.Add(30*time.Second+forgetAfter+time.Second), other)
	if len(u.flows) != 0 {
		t.Errorf("%d estimates kept after %s unread, want 0", len(u.flows), forgetAfter)
	}
}

// TestFlowWithoutRates replays what Redis 6 answers (no entries-added,
// entries-read or lag), whatever this server's version: lag in seconds and
// consumers, and rates that stay 0 however many polls pass.
func TestFlowWithoutRates(t *testing.T) {
	groups, err := parseGroups([]any{[]any{"name", "g", "consumers", int64(3), "pending", int64(1), "last-delivered-id", "0-0"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := parseStreamInfo([]any{"length", int64(2), "radix-tree-keys", int64(1), "last-generated-id", idAt(-30*time.Second, 0),
		"groups", int64(1), "first-entry", []any{idAt(-40*time.Second, 0), []any{"n", "1"}}, "last-entry", nil})
	if err != nil {
		t.Fatal(err)
	}
	if info.addedKnown {
		t.Fatalf("stream info %+v: entries-added known without the field", info)
	}
	q := &query{kind: readPending, stream: "s", group: "g", key: "k"}
	p := &poll{u: &Upstream{flows: map[string]*flowState{}}}
	for i := range 3 {
		r := &groupRead{g: groups[0], info: info, infoOK: true, active: 3}
		r.resolveOldest()
		p.now = t0.Add(time.Duration(i) * 10 * time.Second)
		if _, ok := r.observation(q, p.now); ok {
			t.Fatal("an observation without entries-added")
		}
		f := p.flow(q, r)
		want := sources.Flow{LagSeconds: 40 + 10*float64(i), LagSecondsExact: true, Consumers: 3}
		if *f != want {
			t.Errorf("poll %d: %+v, want %+v", i, *f, want)
		}
	}
}

// TestResolveOldest: the first pipeline settles the oldest undelivered
// entry unless the group is in the middle of its stream.
func TestResolveOldest(t *testing.T) {
	info := streamInfo{length: 3, lastGenerated: "30-0", firstEntry: "10-0"}
	tests := []struct {
		name     string
		g        groupInfo
		info     streamInfo
		infoOK   bool
		resolved bool
		none     bool
		oldest   streamID
	}{
		{"lag 0", groupInfo{lastDelivered: "20-0", lag: 0, lagKnown: true}, info, true, true, true, streamID{}},
		{"lag 0 without XINFO STREAM", groupInfo{lastDelivered: "20-0", lagKnown: true}, streamInfo{}, false, true, true, streamID{}},
		{"at the last ID", groupInfo{lastDelivered: "30-0"}, info, true, true, true, streamID{}},
		{"past the last ID (SETID)", groupInfo{lastDelivered: "31-0"}, info, true, true, true, streamID{}},
		{"empty stream", groupInfo{lastDelivered: "0-0"}, streamInfo{lastGenerated: "30-0"}, true, true, true, streamID{}},
		{"before the first entry", groupInfo{lastDelivered: "0-0", lag: 3, lagKnown: true}, info, true, true, false, streamID{10, 0}},
		{"in the middle", groupInfo{lastDelivered: "10-0", lag: 2, lagKnown: true}, info, true, false, false, streamID{}},
		{"no XINFO STREAM", groupInfo{lastDelivered: "0-0", lag: 3, lagKnown: true}, info, false, false, false, streamID{}},
		{"odd last-delivered-id", groupInfo{lastDelivered: "x"}, info, true, false, false, streamID{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &groupRead{g: tc.g, info: tc.info, infoOK: tc.infoOK}
			r.resolveOldest()
			if r.resolved != tc.resolved || r.none != tc.none || r.oldest != tc.oldest {
				t.Errorf("resolved %v none %v oldest %v, want %v %v %v", r.resolved, r.none, r.oldest, tc.resolved, tc.none, tc.oldest)
			}
		})
	}
}

// TestObservation: entries-read is the consumed total; while Redis answers
// it nil, entries-added minus the lag stands in, under another Shape.
func TestObservation(t *testing.T) {
	q := &query{stream: "s", group: "g"}
	info := streamInfo{entriesAdded: 100, addedKnown: true}
	read := &groupRead{g: groupInfo{entriesRead: 60, readKnown: true, lag: 40, lagKnown: true}, info: info, infoOK: true,
		lag: 40, lagOK: true, active: 2}
	o1, ok := read.observation(q, t0)
	if !ok || o1.Produced != 100 || o1.Consumed != 60 || o1.Lag != 40 || o1.Consumers != 2 || !o1.Time.Equal(t0) {
		t.Errorf("from entries-read: %+v %v", o1, ok)
	}
	est := &groupRead{g: groupInfo{lag: 30, lagKnown: true}, info: info, infoOK: true, lag: 30, lagOK: true}
	o2, ok := est.observation(q, t0)
	if !ok || o2.Consumed != 70 || o2.Shape == o1.Shape {
		t.Errorf("from entries-added - lag: %+v %v, want 70 consumed under another shape than %x", o2, ok, o1.Shape)
	}
	counted := &groupRead{g: groupInfo{entriesRead: 60, readKnown: true}, info: info, infoOK: true, lag: 45, lagOK: true}
	if o, ok := counted.observation(q, t0); !ok || o.Lag != 45 || o.Shape != o1.Shape {
		t.Errorf("with a counted lag: %+v %v", o, ok)
	}
	for name, r := range map[string]*groupRead{
		"no XINFO STREAM":      {g: read.g, lagOK: true},
		"Redis < 7":            {g: groupInfo{}, info: streamInfo{}, infoOK: true, lagOK: true},
		"no lag":               {g: read.g, info: info, infoOK: true},
		"neither read nor lag": {g: groupInfo{}, info: info, infoOK: true, lag: 3, lagOK: true},
	} {
		if o, ok := r.observation(q, t0); ok {
			t.Errorf("%s: observation %+v, want none", name, o)
		}
	}
	other := &query{stream: "s", group: "h"}
	if o, _ := read.observation(other, t0); o.Shape == o1.Shape {
		t.Error("another group has the same shape")
	}
}

// TestFlowDenied: reads that only feed the Flow, denied by an ACL, cost the
// Flow or part of it, with a note, never the depth.
func TestFlowDenied(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	xaddAt(srv, "s", -20*time.Second, 0, 3)
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	srv.Do("XREADGROUP", "GROUP", "g", "c", "COUNT", 1, "STREAMS", "s", ">")
	for user, rules := range map[string][]any{"nostream": {"-xinfo|stream", "-xinfo|consumers"}, "nogroups": {"-xinfo|groups"}} {
		args := append([]any{"ACL", "SETUSER", user, "on", ">pw", "~*", "+@all"}, rules...)
		if err := srv.Client().Do(ctxT(t), args...).Err(); err != nil {
			_, version := serverVersion(t, srv)
			testci.Missing(t, "redis-server %s cannot deny subcommands (ACL -command|subcommand needs Redis >= 7; "+
				"scripts/deps.sh checks the version): %v", version, err)
		}
	}
	md := func(user string) map[string]string {
		return map[string]string{"stream": "s", "consumerGroup": "g", "username": user, "password": "pw"}
	}
	tr := mustParse(t, srv, md("nostream"))
	s := mustSample(t, pollAt(t, open(t, tr), t0, tr)[0])
	want := []string{fmt.Sprintf(noteNoStreamInfo, "s", "g"), fmt.Sprintf(noteNoConsumers, "s", "g")}
	if s.Value != 1 || s.Flow == nil || s.Flow.LagSeconds != 20 || !s.Flow.LagSecondsExact || s.Flow.Consumers != 1 ||
		!slices.Equal(s.Notes, want) {
		t.Errorf("without XINFO STREAM and CONSUMERS: %+v, flow %+v; want 1 pending, 20 s by XRANGE, the registered consumer, notes %q", s, s.Flow, want)
	}
	tr = mustParse(t, srv, md("nogroups"))
	s = mustSample(t, pollAt(t, open(t, tr), t0, tr)[0])
	if want := fmt.Sprintf(noteNoGroupInfo, "s", "g"); s.Value != 1 || s.Flow != nil || !slices.Equal(s.Notes, []string{want}) {
		t.Errorf("without XINFO GROUPS: %+v, want 1 pending, no flow, note %q", s, want)
	}
}
