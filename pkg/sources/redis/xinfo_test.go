package redis

import (
	"math"
	"testing"
	"time"
)

func TestParseStreamInfo(t *testing.T) {
	resp2 := func(kv ...any) []any { return kv }
	tests := []struct {
		name     string
		reply    any
		want     streamInfo
		errorful bool
	}{
		{"Redis 7", resp2("length", int64(3), "last-generated-id", "9-0", "max-deleted-entry-id", "0-0", "entries-added", int64(5),
			"first-entry", []any{"7-0", []any{"f", "v"}}, "last-entry", []any{"9-0", []any{"f", "v"}}),
			streamInfo{length: 3, lastGenerated: "9-0", firstEntry: "7-0", entriesAdded: 5, addedKnown: true}, false},
		{"Redis 6: no entries-added", resp2("length", int64(1), "last-generated-id", "9-0", "first-entry", []any{"9-0", []any{}}),
			streamInfo{length: 1, lastGenerated: "9-0", firstEntry: "9-0"}, false},
		{"empty: nil entries", resp2("length", int64(0), "last-generated-id", "0-0", "entries-added", int64(0), "first-entry", nil),
			streamInfo{lastGenerated: "0-0", addedKnown: true}, false},
		{"RESP3 map", map[any]any{"length": int64(0), "last-generated-id": "0-0"}, streamInfo{lastGenerated: "0-0"}, false},
		{"no length", resp2("last-generated-id", "0-0"), streamInfo{}, true},
		{"first-entry ID not a string", resp2("length", int64(1), "last-generated-id", "1-0", "first-entry", []any{int64(1)}), streamInfo{}, true},
		{"not a reply", "OK", streamInfo{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStreamInfo(tc.reply)
			if (err != nil) != tc.errorful || got != tc.want {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tc.want, tc.errorful)
			}
		})
	}
}

// TestParseConsumers: consumers idle for activeIdle or longer, which Redis
// keeps registered after their worker is gone, do not count.
func TestParseConsumers(t *testing.T) {
	c := func(name string, idle int64) []any {
		return []any{"name", name, "pending", int64(0), "idle", idle, "inactive", int64(-1)}
	}
	limit := activeIdle.Milliseconds()
	n, err := parseConsumers([]any{c("a", 0), c("b", limit-1), c("old", limit), c("older", 86_400_000),
		[]any{"name", "no-idle-field"}, map[any]any{"name": "resp3", "idle": int64(5)}})
	if err != nil || n != 4 {
		t.Errorf("got %d, %v; want 4 recent consumers", n, err)
	}
	if n, err := parseConsumers([]any{}); err != nil || n != 0 {
		t.Errorf("no consumers: %d, %v", n, err)
	}
	for _, bad := range []any{"OK", []any{"flat"}, []any{[]any{"odd"}}} {
		if _, err := parseConsumers(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want streamID
		ok   bool
	}{
		{"0-0", streamID{}, true},
		{"1700000000000-7", streamID{1700000000000, 7}, true},
		{"18446744073709551615-18446744073709551615", streamID{math.MaxUint64, math.MaxUint64}, true},
		{"5", streamID{}, false},
		{"-1-0", streamID{}, false},
		{"a-b", streamID{}, false},
		{"", streamID{}, false},
	}
	for _, tc := range tests {
		got, ok := parseID(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("parseID(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if !(streamID{1, 9}).less(streamID{2, 0}) || !(streamID{2, 0}).less(streamID{2, 1}) || (streamID{2, 1}).less(streamID{2, 1}) {
		t.Error("less does not order by milliseconds, then sequence")
	}
}

func TestAgeOf(t *testing.T) {
	now := t0.Add(250 * time.Microsecond)
	ms := uint64(t0.UnixMilli())
	tests := []struct {
		name string
		id   streamID
		now  time.Time
		want float64
	}{
		{"30 s old", streamID{ms - 30_000, 5}, t0, 30},
		{"sub-millisecond now", streamID{ms, 0}, now, 0.00025},
		{"future", streamID{ms + 1, 0}, t0, 0},
		{"beyond int64", streamID{math.MaxUint64, 0}, t0, 0},
		{"now before 1970", streamID{0, 1}, time.Unix(-5, 0), 0},
		{"chosen ID 1-0", streamID{1, 0}, t0, float64(ms-1) / 1000},
	}
	for _, tc := range tests {
		if got := ageOf(tc.id, tc.now); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
