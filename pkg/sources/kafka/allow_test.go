package kafka

import (
	"maps"
	"net"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// TestAllowListCoversAnnouncedBrokers bootstraps through "localhost", which
// the list allows by name; kfake then announces its brokers as 127.0.0.1.
// Those connections are checked too: without 127.0.0.0/8 in the list the
// poll is an error naming the list, never a lag; with it the lag is exact.
func TestAllowListCoversAnnouncedBrokers(t *testing.T) {
	c := startCluster(t)
	c.createTopic(t, 1, "orders")
	c.produce(t, "orders", map[int32]int{0: 9})
	c.commit(t, "g", map[string]map[int32]int64{"orders": {0: 2}})
	_, port, err := net.SplitHostPort(c.ListenAddrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	md := metadata.Metadata{"bootstrapServers": "localhost:" + port, "consumerGroup": "g", "topic": "orders"}
	for _, tc := range []struct {
		name     string
		patterns []string
		wantLag  float64 // 0: want the allow-list error
	}{
		{"bootstrap name only", []string{"localhost:" + port}, 0},
		{"bootstrap name and the announced IPs", []string{"localhost:" + port, "127.0.0.0/8"}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := allow.Parse(tc.patterns)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := Parse(maps.Clone(md), sources.Policy{Upstreams: l})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			res := pollAt(t, open(t, tr), tr)
			if tc.wantLag == 0 {
				if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "not an upstream this scaler may connect to") {
					t.Fatalf("poll = %+v, %v; want the allow-list error", res[0].Sample, res[0].Err)
				}
				return
			}
			if s := mustSample(t, res[0]); s.Value != tc.wantLag {
				t.Fatalf("lag %v, want %v", s.Value, tc.wantLag)
			}
		})
	}
	if _, err := Parse(metadata.Metadata{"bootstrapServers": "10.9.9.9:9092", "consumerGroup": "g"},
		sources.Policy{Upstreams: mustList(t, "localhost")}); err == nil || !strings.Contains(err.Error(), `"bootstrapServers"`) {
		t.Errorf("a broker outside the list parsed: %v", err)
	}
	if _, err := Parse(metadata.Metadata{"bootstrapServers": "localhost:9092", "consumerGroup": "g", "sasl": "oauthbearer",
		"username": "id", "password": "secret", "oauthTokenEndpointUri": "https://idp.example/token"},
		sources.Policy{Upstreams: mustList(t, "localhost")}); err == nil || !strings.Contains(err.Error(), `"oauthTokenEndpointUri"`) {
		t.Errorf("a token endpoint outside the list parsed: %v", err)
	}
}

func mustList(t *testing.T, patterns ...string) *allow.List {
	t.Helper()
	l, err := allow.Parse(patterns)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
