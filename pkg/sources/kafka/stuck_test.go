package kafka

import (
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
)

func TestStuckPartitions(t *testing.T) {
	opt := lagOptions{persistentPolls: 3, persistentTimeout: 5 * time.Minute}
	r := func(p int32, committed, latest int64, stood int, ago time.Duration) reading {
		return reading{topic: "t", partition: p, committed: committed, latest: latest, stood: stood, stoodSince: t0.Add(-ago)}
	}
	tests := []struct {
		name                      string
		rs                        []reading
		opt                       lagOptions
		value, activity, excluded float64
		notes                     int
	}{
		{"fewer polls than persistentLagPolls count", []reading{r(0, 41, 42, 2, time.Minute)}, opt, 1, 1, 0, 0},
		{"stuck for N polls: out of scale-out, still activates", []reading{r(0, 41, 42, 3, time.Minute), r(1, 0, 5, 1, 0)}, opt, 5, 6, 1, 1},
		{"stuck past the timeout: out of activation too", []reading{r(0, 41, 42, 9, 5*time.Minute), r(1, 0, 5, 1, 0)}, opt, 5, 5, 1, 1},
		{"no lag is never stuck", []reading{r(0, 42, 42, 50, time.Hour)}, opt, 0, 0, 0, 0},
		{"uncommitted partition is never stuck", []reading{r(0, noCommit, 42, 50, time.Hour)}, opt, 1, 1, 0, 0},
		{"off without persistentLagPolls", []reading{r(0, 41, 42, 50, time.Hour)}, lagOptions{}, 1, 1, 0, 0},
		{"timeout 0: out of both at once", []reading{r(0, 41, 42, 3, 0)}, lagOptions{persistentPolls: 3}, 0, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sampleOf(tt.rs, tt.opt, t0)
			if err != nil {
				t.Fatal(err)
			}
			if s.Value != tt.value || s.Activity != tt.activity || float64(s.Excluded) != tt.excluded {
				t.Errorf("value %v activity %v excluded %d, want %v %v %v", s.Value, s.Activity, s.Excluded, tt.value, tt.activity, tt.excluded)
			}
			if len(s.Notes) != tt.notes {
				t.Errorf("notes %q, want %d", s.Notes, tt.notes)
			}
			for _, n := range s.Notes {
				if !strings.Contains(n, "t/0@41") {
					t.Errorf("note %q does not name the partition and its offset", n)
				}
			}
		})
	}
}

func TestHistoryAdvance(t *testing.T) {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var h partHistory
	known := false
	steps := []struct {
		t                 float64
		committed, latest int64
		stood             int
		stoodSince        float64
	}{
		{0, 10, 11, 1, 0},
		{0.01, 10, 11, 1, 0}, // a poll milliseconds later does not count
		{2, 10, 11, 2, 0},
		{4, 10, 11, 3, 0},
		{6, 10, 12, 1, 6}, // a new message: the lag moved
		{8, 11, 12, 1, 8}, // a commit
		{10, 11, 12, 2, 8},
	}
	for i, s := range steps {
		h = h.advance(at(s.t), offsets{s.committed, s.latest}, known)
		known = true
		if h.stood != s.stood || !h.stoodSince.Equal(at(s.stoodSince)) {
			t.Fatalf("step %d: stood %d since %v, want %d since %v", i, h.stood, h.stoodSince, s.stood, at(s.stoodSince))
		}
	}
}

// TestPollStuckPartition: a transaction marker leaves lag 1 that no commit
// can pass (KEDA #5675). After persistentLagPolls polls it stops adding
// replicas, after persistentLagTimeout it stops keeping the workload awake,
// and one new message makes it count again.
func TestPollStuckPartition(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 2, "t")
	c.produce(t, "t", map[int32]int{0: 10, 1: 10})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 9, 1: 10}})
	tr := mustParse(t, c, map[string]string{"consumerGroup": "g", "topic": "t",
		"persistentLagPolls": "3", "persistentLagTimeout": "1m"})
	u := open(t, tr)
	qs := []sources.Query{tr.Query()}
	poll := func(after time.Duration) sources.Sample {
		return mustSample(t, u.Poll(ctxT(t), t0.Add(after), qs)[0])
	}
	for i, want := range []struct {
		after              time.Duration
		value, activity    float64
		excluded, notes    int
		activationExcluded bool
	}{
		{0, 1, 1, 0, 0, false},
		{2 * time.Second, 1, 1, 0, 0, false},
		{4 * time.Second, 0, 1, 1, 1, false}, // third poll: stuck
		{30 * time.Second, 0, 1, 1, 1, false},
		{61 * time.Second, 0, 0, 1, 1, true}, // stuck for over a minute
	} {
		s := poll(want.after)
		if s.Value != want.value || s.Activity != want.activity || s.Excluded != want.excluded || len(s.Notes) != want.notes {
			t.Fatalf("poll %d: value %v activity %v excluded %d notes %q; want %v %v %d %d",
				i, s.Value, s.Activity, s.Excluded, s.Notes, want.value, want.activity, want.excluded, want.notes)
		}
		if want.activationExcluded && !strings.Contains(s.Notes[0], "activation") {
			t.Errorf("poll %d: note %q does not say activation is excluded", i, s.Notes[0])
		}
		if a := s.Activity > tr.Activation(); a != (want.activity > 0) {
			t.Errorf("poll %d: active %v", i, a)
		}
	}
	c.produce(t, "t", map[int32]int{0: 1})
	if s := poll(63 * time.Second); s.Value != 2 || s.Activity != 2 || s.Excluded != 0 {
		t.Errorf("after a new message: value %v activity %v excluded %d; want 2 2 0", s.Value, s.Activity, s.Excluded)
	}
}
