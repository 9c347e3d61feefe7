package redis

import "testing"

func TestParseGroups(t *testing.T) {
	resp2 := func(kv ...any) []any { return kv }
	tests := []struct {
		name     string
		reply    any
		want     []groupInfo
		errorful bool
	}{
		{"RESP2 with lag", []any{resp2("name", "g", "consumers", int64(1), "pending", int64(2),
			"last-delivered-id", "5-0", "entries-read", int64(5), "lag", int64(3))},
			[]groupInfo{{name: "g", lastDelivered: "5-0", pending: 2, lag: 3, lagKnown: true, entriesRead: 5, readKnown: true, consumers: 1}}, false},
		{"RESP2 nil lag is unknown, not 0", []any{resp2("name", "g", "last-delivered-id", "1-0", "entries-read", nil, "lag", nil)},
			[]groupInfo{{name: "g", lastDelivered: "1-0"}}, false},
		{"Redis 6 has no lag field: unknown", []any{resp2("name", "g", "consumers", int64(2), "pending", int64(0), "last-delivered-id", "0-0")},
			[]groupInfo{{name: "g", lastDelivered: "0-0", consumers: 2}}, false},
		{"negative entries-read is unknown", []any{resp2("name", "g", "last-delivered-id", "0-0", "entries-read", int64(-1))},
			[]groupInfo{{name: "g", lastDelivered: "0-0", entriesRead: -1}}, false},
		{"RESP3 map", []any{map[any]any{"name": "a", "last-delivered-id": "0-0", "lag": int64(0)}},
			[]groupInfo{{name: "a", lastDelivered: "0-0", lagKnown: true}}, false},
		{"negative lag is unknown", []any{resp2("name", "g", "last-delivered-id", "0-0", "lag", int64(-1))},
			[]groupInfo{{name: "g", lastDelivered: "0-0", lag: -1}}, false},
		{"unknown fields ignored", []any{resp2("name", "g", "last-delivered-id", "0-0", "future", []any{1})},
			[]groupInfo{{name: "g", lastDelivered: "0-0"}}, false},
		{"no groups", []any{}, []groupInfo{}, false},
		{"not an array", "OK", nil, true},
		{"odd fields", []any{resp2("name")}, nil, true},
		{"group without name", []any{resp2("last-delivered-id", "0-0")}, nil, true},
		{"field name not a string", []any{resp2(int64(1), "x")}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseGroups(tc.reply)
			if tc.errorful {
				if err == nil {
					t.Errorf("got %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("group %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
