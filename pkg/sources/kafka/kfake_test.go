package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/tide-scaler/tide/pkg/sources"
)

// TestPollSeveralGroupsAndTopics reads three queries over two groups and two
// topics in one poll and checks every lag against what was produced and
// committed.
func TestPollSeveralGroupsAndTopics(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 3, "orders", "payments")
	c.produce(t, "orders", map[int32]int{0: 10, 1: 20, 2: 5})
	c.produce(t, "payments", map[int32]int{0: 7, 1: 0, 2: 3})
	c.commit(t, "g1", map[string]map[int32]int64{
		"orders":   {0: 4, 1: 20, 2: 0},
		"payments": {0: 7, 1: 0, 2: 1},
	})
	c.commit(t, "g2", map[string]map[int32]int64{"orders": {0: 10}})

	g1orders := mustParse(t, c, map[string]string{"consumerGroup": "g1", "topic": "orders"})
	g1both := mustParse(t, c, map[string]string{"consumerGroup": "g1", "topic": "payments,orders"})
	g2orders := mustParse(t, c, map[string]string{"consumerGroup": "g2", "topic": "orders"})
	g1all := mustParse(t, c, map[string]string{"consumerGroup": "g1"})
	u := open(t, g1orders)

	res := pollAt(t, u, g1orders, g1both, g2orders, g1all)
	want := []struct {
		value, capacity float64
		parts           int
	}{
		{6 + 0 + 5, 3, 3},      // orders: 10-4, 20-20, 5-0
		{11 + 0 + 0 + 2, 6, 6}, // plus payments: 7-7, 0-0, 3-1
		{0 + 1 + 1, 3, 3},      // g2: p0 committed at the end, p1 and p2 uncommitted -> 1 each
		{11 + 2, 6, 6},         // g1 without topic: both committed topics
	}
	for i, w := range want {
		s := mustSample(t, res[i])
		if s.Value != w.value || s.Activity != w.value || float64(s.Capacity) != w.capacity || len(s.Parts) != w.parts {
			t.Errorf("query %d: value %v activity %v capacity %d parts %d, want %v/%v/%v/%d",
				i, s.Value, s.Activity, s.Capacity, len(s.Parts), w.value, w.value, w.capacity, w.parts)
		}
		if !s.Time.Equal(t0) {
			t.Errorf("query %d: time %v, want %v", i, s.Time, t0)
		}
	}
	s := mustSample(t, res[0])
	if p := s.Parts[0]; p.Name != "orders/0" || p.Value != 6 || p.Info != "committed=4 latest=10" {
		t.Errorf("part 0 = %+v", p)
	}
	st := u.Stats()
	if st.Polls != 1 || st.OffsetFetchRequests != 2 || st.ListOffsetsRequests > 3 {
		t.Errorf("stats %+v: want 1 poll, 2 offset fetches, at most 3 list offsets", st)
	}
}

// TestPollGroupWithoutCommitsOrTopic: a topic-less query whose group never
// committed has an unknown lag: NotFound naming the group, never a zero.
func TestPollGroupWithoutCommitsOrTopic(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 2, "events")
	c.produce(t, "events", map[int32]int{0: 3})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "nobody"})
	res := pollAt(t, open(t, tr), tr)
	err := res[0].Err
	if !errors.Is(err, sources.ErrNotFound) || !strings.Contains(err.Error(), `"nobody"`) || !strings.Contains(err.Error(), "set topic") {
		t.Fatalf("err = %v, want ErrNotFound naming the group and the fix", err)
	}
}

// TestPollMissingTopic: only the query on the missing topic fails, with
// ErrNotFound naming the topic.
func TestPollMissingTopic(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 1, "real")
	c.produce(t, "real", map[int32]int{0: 4})
	c.commit(t, "g", map[string]map[int32]int64{"real": {0: 1}})
	good := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "real"})
	bad := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "nope"})
	u := open(t, good)
	res := pollAt(t, u, bad, good)
	if !errors.Is(res[0].Err, sources.ErrNotFound) || !strings.Contains(res[0].Err.Error(), `"nope"`) {
		t.Errorf("missing topic: err %v, want ErrNotFound naming the topic", res[0].Err)
	}
	if s := mustSample(t, res[1]); s.Value != 3 {
		t.Errorf("good query: value %v, want 3", s.Value)
	}
	// Created later, the topic is picked up at the next poll.
	c.createTopic(t, 1, "nope")
	if s := mustSample(t, pollAt(t, u, bad)[0]); s.Value != 1 {
		t.Errorf("after creation: value %v, want 1 (no commit, latest policy)", s.Value)
	}
}

// TestPollClusterDown: every query fails, naming the brokers, whether the
// upstream had metadata cached or not, and the poll ends within its context.
func TestPollClusterDown(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 2, "t")
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 0}})
	withTopic := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t"})
	noTopic := mustParse(t, c, map[string]string{"consumerGroup": "g"})
	warm := open(t, withTopic)
	for _, r := range pollAt(t, warm, withTopic, noTopic) {
		mustSample(t, r)
	}
	addr := c.ListenAddrs()[0]
	c.Close()
	cold := open(t, withTopic)
	for name, u := range map[string]*Upstream{"warm": warm, "cold": cold} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res := u.Poll(ctx, t0.Add(time.Second), []sources.Query{withTopic.Query(), noTopic.Query()})
		cancel()
		for i, r := range res {
			if r.Err == nil {
				t.Errorf("%s upstream, query %d: no error after the cluster closed", name, i)
				continue
			}
			host, _, _ := strings.Cut(addr, ":")
			if !strings.Contains(r.Err.Error(), host) {
				t.Errorf("%s upstream, query %d: error %q does not name a broker", name, i, r.Err)
			}
		}
	}
}

func TestPollPartitionLimitation(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 6, "t")
	c.produce(t, "t", map[int32]int{0: 1, 1: 2, 2: 4, 3: 8, 4: 16, 5: 32})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0}})
	some := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "partitionLimitation": "0,2-3,17"})
	none := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "partitionLimitation": "100-200"})
	res := pollAt(t, open(t, some), some, none)
	s := mustSample(t, res[0])
	if s.Value != 1+4+8 || s.Capacity != 3 || len(s.Parts) != 3 || s.Parts[1].Name != "t/2" {
		t.Errorf("sample %+v: want value 13 over partitions 0, 2, 3", s)
	}
	if !errors.Is(res[1].Err, sources.ErrNotFound) || !strings.Contains(res[1].Err.Error(), "100-200") {
		t.Errorf("limitation matching nothing: err %v", res[1].Err)
	}
}

// TestPollEarliestPolicy: uncommitted partitions count their retained log
// under the earliest policy, read with a second per-leader request that
// only such queries cause.
func TestPollEarliestPolicy(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 3, "t")
	c.produce(t, "t", map[int32]int{0: 10, 1: 10, 2: 10})
	var trim kadm.Offsets
	trim.AddOffset("t", 0, 4, -1)
	if _, err := c.admin.DeleteRecords(ctxT(t), trim); err != nil {
		t.Fatal(err)
	}
	c.commit(t, "g", map[string]map[int32]int64{"t": {1: 7}})
	latest := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t"})
	earliest := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "offsetResetPolicy": "earliest"})
	zero := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "offsetResetPolicy": "earliest", "scaleToZeroOnInvalidOffset": "true"})
	u := open(t, latest)

	s := mustSample(t, pollAt(t, u, latest, zero)[0])
	if s.Value != 1+3+1 {
		t.Errorf("latest policy: value %v, want 5", s.Value)
	}
	if n := u.Stats().ListOffsetsRequests; n > 3 {
		t.Errorf("%d ListOffsets without an earliest query, want at most one per leader", n)
	}
	res := pollAt(t, u, earliest, zero)
	s = mustSample(t, res[0])
	if s.Value != 6+3+10 {
		t.Errorf("earliest policy: value %v, want 19 (10-4, 10-7, 10-0)", s.Value)
	}
	if s.Parts[0].Info != "committed=-1 latest=10 earliest=4" {
		t.Errorf("part 0 info %q", s.Parts[0].Info)
	}
	if s := mustSample(t, res[1]); s.Value != 3 {
		t.Errorf("earliest with scaleToZeroOnInvalidOffset: value %v, want 3", s.Value)
	}
}

// TestPollPersistentLag: a commit that does not move between polls stops
// counting for replicas but keeps the workload active.
func TestPollPersistentLag(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 2, "t")
	c.produce(t, "t", map[int32]int{0: 10, 1: 10})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 2, 1: 5}})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "excludePersistentLag": "true"})
	u := open(t, tr)
	qs := []sources.Query{tr.Query()}
	s := mustSample(t, u.Poll(ctxT(t), t0, qs)[0])
	if s.Value != 13 || s.Activity != 13 {
		t.Errorf("first poll: %v/%v, want 13/13", s.Value, s.Activity)
	}
	// A poll right after another (a new trigger's first sample) has seen the
	// commits stand still for milliseconds only: not persistent yet.
	if s = mustSample(t, u.Poll(ctxT(t), t0.Add(10*time.Millisecond), qs)[0]); s.Value != 13 {
		t.Errorf("poll 10ms later: value %v, want 13 (too soon to call anything stuck)", s.Value)
	}
	c.commit(t, "g", map[string]map[int32]int64{"t": {1: 6}})
	s = mustSample(t, u.Poll(ctxT(t), t0.Add(15*time.Second), qs)[0])
	if s.Value != 4 || s.Activity != 12 || !strings.HasSuffix(s.Parts[0].Info, " persistent") {
		t.Errorf("second poll: %v/%v %+v, want 4/12 with partition 0 persistent", s.Value, s.Activity, s.Parts)
	}
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 3}})
	s = mustSample(t, u.Poll(ctxT(t), t0.Add(30*time.Second), qs)[0])
	if s.Value != 7 {
		t.Errorf("third poll: value %v, want 7 (partition 0 moved, partition 1 stuck at 6)", s.Value)
	}
}

func TestPollLimitToPartitionsWithLag(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 4, "t")
	c.produce(t, "t", map[int32]int{0: 50, 1: 50, 2: 50, 3: 50})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 0, 1: 50, 2: 0, 3: 50}})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t", "limitToPartitionsWithLag": "true"})
	s := mustSample(t, pollAt(t, open(t, tr), tr)[0])
	if s.Value != 100 || s.Capacity != 2 {
		t.Errorf("value %v capacity %d, want 100 over 2 partitions", s.Value, s.Capacity)
	}
	if m := tr.Evaluate(s); m.Reason != "capped at 2 partitions" {
		t.Errorf("Evaluate %+v, want a cap at 2", m)
	}
}

// TestPollMetadataSchedule: topic metadata is re-read every 30 s of poll
// time, and at once when a leader moves.
func TestPollMetadataSchedule(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 3, "t")
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 0, 1: 0, 2: 0}})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t"})
	u := open(t, tr)
	qs := []sources.Query{tr.Query()}
	at := func(d time.Duration) Stats {
		t.Helper()
		mustSample(t, u.Poll(ctxT(t), t0.Add(d), qs)[0])
		return u.Stats()
	}
	for _, step := range []struct {
		at       time.Duration
		metadata int64
	}{{0, 1}, {10 * time.Second, 1}, {29 * time.Second, 1}, {30 * time.Second, 2}, {59 * time.Second, 2}} {
		if st := at(step.at); st.MetadataRequests != step.metadata {
			t.Errorf("poll at +%v: %d metadata requests, want %d", step.at, st.MetadataRequests, step.metadata)
		}
	}
	leader := c.LeaderFor("t", 1)
	if err := c.MoveTopicPartition("t", 1, (leader+1)%3); err != nil {
		t.Fatal(err)
	}
	before := u.Stats()
	perPoll := before.ListOffsetsRequests / before.Polls // one per leader
	after := at(59 * time.Second)                        // cached metadata, 29 s old
	if after.MetadataRequests != before.MetadataRequests+1 || after.ListOffsetsRequests != before.ListOffsetsRequests+perPoll+1 {
		t.Errorf("after a leader move: %+v -> %+v, want one metadata re-read and one retried ListOffsets", before, after)
	}
}

// TestPollTLSAndSCRAM reads lag over TLS with SCRAM-SHA-256, and fails
// cleanly with a wrong password.
func TestPollTLSAndSCRAM(t *testing.T) {
	p := newPKI(t)
	c := startClusterWith(t,
		[]kgo.Opt{
			kgo.DialTLSConfig(p.clientTLS()),
			kgo.SASL(scram.Auth{User: "tide", Pass: "s3cret"}.AsSha256Mechanism()),
		},
		kfake.TLS(p.serverTLS(t)), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "tide", "s3cret"),
	)
	c.createTopic(t, 2, "t")
	c.produce(t, "t", map[int32]int{0: 5, 1: 5})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 1, 1: 1}})
	md := map[string]string{
		"consumerGroup": "g", "topic": "t", "tls": "enable", "ca": p.caPEM,
		"sasl": "scram_sha256", "username": "tide", "password": "s3cret",
	}
	tr := mustParse(t, c, md)
	if s := mustSample(t, pollAt(t, open(t, tr), tr)[0]); s.Value != 8 {
		t.Errorf("value %v, want 8", s.Value)
	}
	md["password"] = "wrong-SECRET"
	bad := mustParse(t, c, md)
	r := pollAt(t, open(t, bad), bad)[0]
	if r.Err == nil || strings.Contains(r.Err.Error(), "wrong-SECRET") {
		t.Errorf("wrong password: err %v, want an error without the password", r.Err)
	}
}

// TestPollRespectsContext: a broker that never answers holds the poll only
// as long as its context. The context is cancelled by the broker hook, so
// the test waits for no clock.
func TestPollRespectsContext(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 3, "t")
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t"})
	u := open(t, tr)
	mustSample(t, pollAt(t, u, tr)[0])
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.ControlKey(int16(kmsg.ListOffsets), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		cancel()
		return nil, nil, true // swallowed: never answered
	})
	r := u.Poll(ctx, t0, []sources.Query{tr.Query()})[0]
	if !errors.Is(r.Err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", r.Err)
	}
}

// TestPollCommittedTopicDeleted: a topic-less query skips committed topics
// that no longer exist, with a note, and still reads the others. Brokers
// drop the commits of a deleted topic, but not atomically with the
// deletion: the OffsetFetch answer is forged to hold such a topic.
func TestPollCommittedTopicDeleted(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 1, "kept")
	c.produce(t, "kept", map[int32]int{0: 5})
	c.ControlKey(int16(kmsg.OffsetFetch), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		res := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		res.Version = r.GetVersion()
		for topic, at := range map[string]int64{"kept": 2, "gone": 0} {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = topic
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Offset = at
			rt.Partitions = append(rt.Partitions, rp)
			res.Topics = append(res.Topics, rt)
		}
		return res, nil, true
	})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g"})
	s := mustSample(t, pollAt(t, open(t, tr), tr)[0])
	want := fmt.Sprintf(noteGoneTopic, "gone")
	if s.Value != 3 || len(s.Notes) != 1 || s.Notes[0] != want {
		t.Errorf("sample %+v, want value 3 and note %q", s, want)
	}
}
