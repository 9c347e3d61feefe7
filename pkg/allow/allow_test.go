package allow

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	l, err := Parse([]string{"kafka.prod.svc:9092", "*.cache.svc", "10.1.0.0/16:6379", "[fd00::/8]:9090", "192.168.1.7:8080"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, addr string
		ok         bool
	}{
		{"exact name and port", "kafka.prod.svc:9092", true},
		{"exact name, case and trailing dot", "KAFKA.prod.svc.:9092", true},
		{"exact name, other port", "kafka.prod.svc:9093", false},
		{"wildcard, any port", "redis-0.cache.svc:7000", true},
		{"wildcard does not match the bare domain", "cache.svc:7000", false},
		{"wildcard does not match a suffix without a dot", "evilcache.svc:7000", false},
		{"IP in the CIDR, its port", "10.1.2.3:6379", true},
		{"IP in the CIDR, other port", "10.1.2.3:22", false},
		{"IP outside every CIDR", "10.2.0.1:6379", false},
		{"single IP and port", "192.168.1.7:8080", true},
		{"single IP, other port", "192.168.1.7:8081", false},
		{"IPv6 in prefix", "[fd00::1]:9090", true},
		{"IPv6 outside prefix", "[fe80::1]:9090", false},
		{"IPv4-mapped IPv6 in the CIDR", "[::ffff:10.1.0.9]:6379", true},
		{"unknown name on a CIDR's port is left to the dial", "anything.example:6379", true},
		{"unknown name on no pattern's port", "anything.example:22", false},
		{"metadata service", "169.254.169.254:80", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := l.Check(tc.addr)
			if (err == nil) != tc.ok {
				t.Fatalf("Check(%q) = %v, want allowed=%t", tc.addr, err, tc.ok)
			}
			var d *DeniedError
			if err != nil && (!errors.As(err, &d) || !strings.Contains(err.Error(), tc.addr)) {
				t.Fatalf("error %v does not name %q", err, tc.addr)
			}
		})
	}
	if err := (*List)(nil).Check("anything:1"); err != nil {
		t.Fatalf("a nil list must allow everything: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, p := range []string{"", "*", "a*b.svc", "host:0", "host:99999", "host:x", "10.0.0.0/33"} {
		if _, err := Parse([]string{p}); err == nil {
			t.Errorf("Parse(%q) succeeded", p)
		}
	}
	for _, s := range []string{"kafka", "kafka=", "mongo=host", "=host"} {
		if _, err := ParseRules([]string{s}, []string{"kafka", "redis"}); err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("ParseRules(%q) = %v, want an error quoting it", s, err)
		}
	}
}

func TestRulesFor(t *testing.T) {
	r, err := ParseRules([]string{"kafka=*.kafka.svc:9092", "*=10.0.0.0/8", "kafka=broker.ext:9093"}, []string{"kafka", "redis", "inference"})
	if err != nil {
		t.Fatal(err)
	}
	k := r.For("kafka")
	for addr, ok := range map[string]bool{"b-1.kafka.svc:9092": true, "broker.ext:9093": true, "10.3.3.3:9092": true, "11.0.0.1:9092": false} {
		if got := k.Check(addr) == nil; got != ok {
			t.Errorf("kafka %s: allowed=%t, want %t", addr, got, ok)
		}
	}
	if red := r.For("redis"); red.Check("10.0.0.1:6379") != nil || red.Check("11.0.0.1:6379") == nil || red.Check("broker.ext:9093") != nil {
		t.Errorf("redis should follow only the * rule (names are left to the dial)")
	}
	if (Rules{}).For("redis") != nil {
		t.Errorf("no rules must be open")
	}
}

// TestDialChecksTheResolvedIP dials a real listener on 127.0.0.1: a name
// the list allows connects; a name that resolves outside every CIDR is
// refused before it connects, however it was written.
func TestDialChecksTheResolvedIP(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	d := &net.Dialer{Timeout: 5 * time.Second}
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		patterns []string
		addr     string
		ok       bool
	}{
		{"name allowed by name", []string{"localhost"}, "localhost:" + port, true},
		{"IP allowed by CIDR", []string{"127.0.0.0/8"}, "127.0.0.1:" + port, true},
		{"name resolved into an allowed CIDR", []string{"127.0.0.0/8"}, "localhost:" + port, true},
		{"name resolved outside every CIDR", []string{"10.0.0.0/8"}, "localhost:" + port, false},
		{"IP outside every CIDR", []string{"10.0.0.0/8", "localhost"}, "127.0.0.1:" + port, false},
		{"CIDR with another port", []string{"127.0.0.0/8:1"}, "127.0.0.1:" + port, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Parse(tc.patterns)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := l.DialContext(d)(ctx, "tcp4", tc.addr)
			if tc.ok {
				if err != nil {
					t.Fatalf("dial %s: %v", tc.addr, err)
				}
				conn.Close()
				<-accepted
				return
			}
			var denied *DeniedError
			if err == nil {
				conn.Close()
				t.Fatalf("dial %s connected; want it refused", tc.addr)
			}
			if !errors.As(err, &denied) {
				t.Fatalf("dial %s: %v, want a DeniedError", tc.addr, err)
			}
			select {
			case <-accepted:
				t.Fatalf("the listener accepted a refused dial")
			default:
			}
		})
	}
}
