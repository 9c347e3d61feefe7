package inference

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestServicePeers: the peers are the ready endpoints of the scaler's own
// Service minus this pod, at the named (or numbered) HTTP port.
func TestServicePeers(t *testing.T) {
	d := &stubDiscovery{eps: []ServiceEndpoint{
		{Pod: "tide-0", IP: "10.0.0.1", Ports: map[string]int32{"http": 8080, "grpc": 9090}, Ready: true},
		{Pod: "tide-1", IP: "10.0.0.2", Ports: map[string]int32{"http": 8080}, Ready: true}, // itself
		{Pod: "tide-2", IP: "10.0.0.3", Ports: map[string]int32{"http": 8080}},              // not ready
		{Pod: "tide-3", IP: "fd00::4", Ports: map[string]int32{"http": 8081}, Ready: true},
		{Pod: "tide-4", IP: "10.0.0.5", Ports: map[string]int32{"grpc": 9090}, Ready: true}, // no http port
	}}
	p, err := FollowPeers(d, "tide-system", "tide", "http", "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.Peers(context.Background())
	want := []string{"http://10.0.0.1:8080", "http://[fd00::4]:8081"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("peers %v, %v; want %v", got, err, want)
	}
	p, _ = FollowPeers(d, "tide-system", "tide", "8080", "10.0.0.1")
	if got, _ := p.Peers(context.Background()); !slices.Equal(got, []string{"http://10.0.0.2:8080", "http://[fd00::4]:8080", "http://10.0.0.5:8080"}) {
		t.Errorf("numbered port: peers %v", got)
	}
	for _, tt := range []struct{ ns, svc, port, ip, want string }{
		{"", "tide", "http", "10.0.0.1", "want namespace/name"},
		{"tide-system", "tide", "", "10.0.0.1", "port"},
		{"tide-system", "tide", "http", "", "pod IP"},
		{"tide-system", "tide", "http", "tide-0", `pod IP "tide-0"`},
	} {
		if _, err := FollowPeers(d, tt.ns, tt.svc, tt.port, tt.ip); err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "--") {
			t.Errorf("FollowPeers(%q, %q, %q, %q): %v; want an error naming %s (and no flag)", tt.ns, tt.svc, tt.port, tt.ip, err, tt.want)
		}
	}
	if _, err := FollowPeers(nil, "tide-system", "tide", "http", "10.0.0.1"); err == nil {
		t.Error("FollowPeers without discovery succeeded")
	}
}

func TestParseStaticPeers(t *testing.T) {
	got, err := ParseStaticPeers([]string{"http://10.0.0.2:8080/", "https://tide-1.tide:8080"})
	if err != nil || !slices.Equal(got, StaticPeers{"http://10.0.0.2:8080", "https://tide-1.tide:8080"}) {
		t.Errorf("ParseStaticPeers: %v, %v", got, err)
	}
	for _, bad := range []string{"10.0.0.2:8080", "ftp://h", "http://h/v1/push", "http://h?x=1", "http://", "http://u:s3cret@h"} {
		_, err := ParseStaticPeers([]string{bad})
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "--") {
			t.Errorf("ParseStaticPeers(%q): %v; want an error without the password or a flag", bad, err)
		}
	}
}
