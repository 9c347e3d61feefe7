package testlog

import (
	"strings"
	"testing"
)

func TestRecords(t *testing.T) {
	const ok = `{"time":"t","level":"INFO","msg":"a","logger":"klog"}` + "\n"
	for _, tc := range []struct {
		name, text, wantErr string
		n                   int
	}{
		{"empty", "", "", 0},
		{"json lines", ok + ok, "", 2},
		{"text line", ok + "time=t level=INFO msg=a\n", "line 2 is not JSON", 1},
		{"bad lines counted", "a\n" + ok + "b\n", "line 1 is not JSON: \"a\" (and 1 more bad lines)", 1},
		{"raw library line", ok + "redis: 2026/01/02 15:04:05 pool.go:1: x\n", "line 2 is not JSON", 1},
		{"blank line", ok + "\n" + ok, "line 2 is not JSON", 2},
		{"no msg", `{"time":"t","level":"INFO"}`, `no "msg"`, 0},
		{"duplicate key", `{"time":"t","level":"INFO","msg":"a","logger":"klog","logger":"x"}`, `key "logger" twice`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := Records(tc.text)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Records error = %v; want %q", err, tc.wantErr)
			}
			if len(recs) != tc.n {
				t.Errorf("Records = %d records; want every good line, %d", len(recs), tc.n)
			}
		})
	}
	recs, _ := Records(ok)
	if Find(recs, "a", map[string]string{"logger": "klog"}) == nil || Find(recs, "a", map[string]string{"logger": "go-redis"}) != nil {
		t.Error("Find does not match msg and attributes")
	}
}
