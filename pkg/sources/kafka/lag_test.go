package kafka

import (
	"errors"
	"strings"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
)

func TestPartitionLag(t *testing.T) {
	latest := lagOptions{}
	earliest := lagOptions{earliest: true}
	zero := lagOptions{scaleToZeroOnInvalidOffset: true}
	earliestZero := lagOptions{earliest: true, scaleToZeroOnInvalidOffset: true}
	tests := []struct {
		name string
		r    reading
		opt  lagOptions
		want int64
	}{
		{"committed behind", reading{committed: 4, latest: 10}, latest, 6},
		{"caught up", reading{committed: 10, latest: 10}, latest, 0},
		{"committed beyond log end is clamped", reading{committed: 15, latest: 10}, latest, 0},
		{"earliest policy ignores log start when committed", reading{committed: 4, latest: 10, earliest: 8, hasEarliest: true}, earliest, 6},
		{"no commit, latest policy", reading{committed: noCommit, latest: 10}, latest, 1},
		{"no commit, latest policy, empty partition", reading{committed: noCommit, latest: 0}, latest, 1},
		{"no commit, latest policy, scale to zero", reading{committed: noCommit, latest: 10}, zero, 0},
		{"no commit, earliest policy", reading{committed: noCommit, latest: 10, earliest: 3, hasEarliest: true}, earliest, 7},
		{"no commit, earliest policy, empty log", reading{committed: noCommit, latest: 5, earliest: 5, hasEarliest: true}, earliest, 0},
		{"no commit, earliest policy, scale to zero", reading{committed: noCommit, latest: 10, earliest: 3, hasEarliest: true}, earliestZero, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := partitionLag(tt.r, tt.opt); got != tt.want {
				t.Errorf("partitionLag = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestSampleOf(t *testing.T) {
	r := func(p int32, committed, latest int64) reading {
		return reading{topic: "t", partition: p, committed: committed, latest: latest}
	}
	moved := func(rd reading, prev int64) reading { rd.previous, rd.hasPrevious = prev, true; return rd }
	tests := []struct {
		name                      string
		rs                        []reading
		opt                       lagOptions
		value, activity, capacity float64
	}{
		{"sum", []reading{r(0, 4, 10), r(1, 0, 5), r(2, 7, 7)}, lagOptions{}, 11, 11, 3},
		{"negative lag does not hide other lag", []reading{r(0, 20, 10), r(1, 0, 5)}, lagOptions{}, 5, 5, 2},
		{"no partitions", nil, lagOptions{}, 0, 0, 0},
		{"limit to partitions with lag", []reading{r(0, 4, 10), r(1, 5, 5), r(2, 0, 1)},
			lagOptions{limitToPartitionsWithLag: true}, 7, 7, 2},
		{"limit with no lag keeps capacity 1", []reading{r(0, 5, 5), r(1, 5, 5)},
			lagOptions{limitToPartitionsWithLag: true}, 0, 0, 1},
		{"persistent lag counts for activity only", []reading{moved(r(0, 4, 10), 4), moved(r(1, 3, 5), 1)},
			lagOptions{excludePersistentLag: true}, 2, 8, 2},
		{"persistent lag without the option counts", []reading{moved(r(0, 4, 10), 4)}, lagOptions{}, 6, 6, 1},
		{"first poll is never persistent", []reading{r(0, 4, 10)}, lagOptions{excludePersistentLag: true}, 6, 6, 1},
		{"unchanged commit without lag is not persistent", []reading{moved(r(0, 10, 10), 10)},
			lagOptions{excludePersistentLag: true, limitToPartitionsWithLag: true}, 0, 0, 1},
		{"persistent partitions do not count as partitions with lag",
			[]reading{moved(r(0, 4, 10), 4), r(1, 3, 5), r(2, 0, 9)},
			lagOptions{excludePersistentLag: true, limitToPartitionsWithLag: true}, 11, 17, 2},
		{"uncommitted partition is never persistent", []reading{moved(r(0, noCommit, 10), noCommit)},
			lagOptions{excludePersistentLag: true}, 1, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := sampleOf(tt.rs, tt.opt, t0)
			if err != nil {
				t.Fatal(err)
			}
			if s.Value != tt.value || s.Activity != tt.activity || float64(s.Capacity) != tt.capacity {
				t.Errorf("value %v activity %v capacity %d, want %v %v %v", s.Value, s.Activity, s.Capacity, tt.value, tt.activity, tt.capacity)
			}
			if len(s.Parts) != len(tt.rs) {
				t.Errorf("%d parts, want %d", len(s.Parts), len(tt.rs))
			}
		})
	}
}

func TestSampleOfParts(t *testing.T) {
	s, err := sampleOf([]reading{
		{topic: "a", partition: 3, committed: 2, latest: 9, previous: 2, hasPrevious: true},
		{topic: "b", partition: 0, committed: noCommit, latest: 9, earliest: 4, hasEarliest: true},
	}, lagOptions{earliest: true, excludePersistentLag: true}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name, info string
		value      float64
	}{
		{"a/3", "committed=2 latest=9 persistent", 7},
		{"b/0", "committed=-1 latest=9 earliest=4", 5},
	}
	for i, w := range want {
		if p := s.Parts[i]; p.Name != w.name || p.Info != w.info || p.Value != w.value {
			t.Errorf("part %d = %+v, want %+v", i, p, w)
		}
	}
}

// A partition with unknown offsets fails the whole query, naming it, and
// never yields a partial sum.
func TestSampleOfErrors(t *testing.T) {
	rs := []reading{{topic: "t", partition: 0, committed: 1, latest: 5}}
	for p := range int32(12) {
		rs = append(rs, reading{topic: "t", partition: p + 1, err: kafkago.LeaderNotAvailable})
	}
	_, err := sampleOf(rs, lagOptions{}, t0)
	if !errors.Is(err, kafkago.LeaderNotAvailable) {
		t.Fatalf("err %v, want LeaderNotAvailable", err)
	}
	for _, s := range []string{"12 partition(s)", "t/1,", "t/8", "and 4 more"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err %q does not contain %q", err, s)
		}
	}
	// Earliest policy without a log start offset is a bug upstream of
	// sampleOf; it must fail rather than count 0.
	_, err = sampleOf([]reading{{topic: "t", committed: noCommit, latest: 5}}, lagOptions{earliest: true}, t0)
	if !errors.Is(err, errNoLogStart) {
		t.Errorf("err %v, want errNoLogStart", err)
	}
}

func TestPartitionSet(t *testing.T) {
	ps, err := parsePartitions("k", "10-20, 1,2,3,22")
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[int32]bool{0: false, 1: true, 3: true, 4: false, 9: false, 10: true, 20: true, 21: false, 22: true, 23: false} {
		if ps.contains(p) != want {
			t.Errorf("contains(%d) = %v, want %v", p, !want, want)
		}
	}
	if !partitionSet(nil).contains(12345) {
		t.Error("nil set must select every partition")
	}
	if got := ps.String(); got != "1-3,10-20,22" {
		t.Errorf("String() = %q", got)
	}
	if ps, err := parsePartitions("k", "2147483647,0"); err != nil || ps.String() != "0,2147483647" {
		t.Errorf("extremes: %v %v", ps, err)
	}
}
