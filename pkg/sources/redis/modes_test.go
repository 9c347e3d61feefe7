package redis

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tide-scaler/tide/internal/testci"
	"github.com/tide-scaler/tide/internal/testredis"
)

// TestCluster reads keys spread over three masters: a named list and a
// pattern (SCANned on every master) agree, and a steady poll is one
// pipeline per node that owns a watched key, no more.
func TestCluster(t *testing.T) {
	c := testredis.StartCluster(t, 3)
	ctx := ctxT(t)
	cl := c.Client()
	var names []string
	total := 0
	nodes := map[string]bool{}
	for i := range 30 {
		k := fmt.Sprintf("q%d", i)
		for range i + 1 {
			if err := cl.RPush(ctx, k, "x").Err(); err != nil {
				t.Fatal(err)
			}
		}
		total += i + 1
		names = append(names, k)
		n, err := c.NodeOf(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		nodes[n.Addr] = true
	}
	if len(nodes) != 3 {
		t.Fatalf("keys landed on %d nodes, want all 3", len(nodes))
	}
	if err := cl.XAdd(ctx, &goredis.XAddArgs{Stream: "s", Values: []any{"f", "v"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := cl.XGroupCreate(ctx, "s", "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	md := func(kv ...string) map[string]string {
		m := map[string]string{"redisType": "cluster", "addresses": strings.Join(c.Addrs(), ",")}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	named := mustParse(t, nil, md("listName", strings.Join(names, ",")))
	glob := mustParse(t, nil, md("listName", "q*"))
	lag := mustParse(t, nil, md("stream", "s", "consumerGroup", "g", "lagCount", "1"))
	if named.Query().Upstream().Name != "redis-cluster://"+strings.Join(slices.Sorted(slices.Values(c.Addrs())), ",") {
		t.Errorf("name %q", named.Query().Upstream().Name)
	}
	u := open(t, named)
	for i, r := range pollAt(t, u, t0, named, glob, lag) {
		want := float64(total)
		if i == 2 {
			want = 1
		}
		if s := mustSample(t, r); s.Value != want {
			t.Errorf("trigger %d: %v, want %v", i, s.Value, want)
		}
	}
	before := u.Stats()
	res := pollAt(t, u, t0, named, glob, lag)
	for _, r := range res {
		mustSample(t, r)
	}
	d := delta(before, u.Stats())
	// 30 depth commands; TYPE s and XINFO GROUPS, STREAM and CONSUMERS of
	// s. The group has read nothing, so its oldest undelivered entry is the
	// stream's first, known without XRANGE.
	if d.Pipelines != 3 || d.RoundTrips != 3 || d.Commands != 34 {
		t.Errorf("steady cluster poll: %+v, want 3 pipelines (one per node) with 34 commands", d)
	}
}

// TestSentinel reads a master found through a sentinel, both with
// passwords, and fails naming the sentinels when the sentinel password is
// wrong.
func TestSentinel(t *testing.T) {
	master := testredis.Start(t, testredis.Config{Args: []string{"--requirepass", "master-pw"}, Password: "master-pw"})
	sn := testredis.StartSentinel(t, master, testredis.SentinelConfig{Master: "mymaster", MasterPassword: "master-pw", Password: "sentinel-pw"})
	master.Do("RPUSH", "q", "a", "b")
	md := map[string]string{"redisType": "sentinel", "addresses": sn.Addr, "sentinelMaster": "mymaster",
		"password": "master-pw", "sentinelPassword": "sentinel-pw", "listName": "q"}
	tr := mustParse(t, nil, md)
	if s := mustSample(t, pollAt(t, open(t, tr), t0, tr)[0]); s.Value != 2 {
		t.Errorf("via sentinel: %v, want 2", s.Value)
	}
	md["sentinelPassword"] = "wrong-SECRET"
	bad := mustParse(t, nil, md)
	r := pollAt(t, open(t, bad), t0, bad)[0]
	wantErr(t, "wrong sentinel password", r.Err, `redis master "mymaster" via sentinels `+sn.Addr)
	if r.Err != nil && strings.Contains(r.Err.Error(), "wrong-SECRET") {
		t.Errorf("error %q holds the password", r.Err)
	}
}

// TestNoScriptingNeeded: a user denied @scripting (as many managed Redis
// services do, KEDA #7758) cannot EVAL, and every kind of read still works.
func TestNoScriptingNeeded(t *testing.T) {
	srv := testredis.Start(t, testredis.Config{})
	srv.Do("ACL", "SETUSER", "scaler", "on", ">scaler-pw", "~*", "+@all", "-@scripting")
	srv.Do("RPUSH", "l", "1")
	srv.Do("ZADD", "z", 1, "a")
	srv.Do("SADD", "st", "a")
	srv.Do("HSET", "h", "f", "v")
	srv.Do("RPUSH", "jobs:1", "1", "2")
	var ids []string
	for i := range 4 {
		ids = append(ids, srv.Do("XADD", "s", "*", "n", i).(string))
	}
	srv.Do("XGROUP", "CREATE", "s", "g", "0")
	srv.Do("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">")
	srv.Do("XDEL", "s", ids[2]) // nil lag: the XRANGE count runs too

	scaler := goredis.NewClient(&goredis.Options{Addr: srv.Addr, Username: "scaler", Password: "scaler-pw", Protocol: 2, DisableIdentity: true})
	defer scaler.Close()
	if err := scaler.Eval(ctxT(t), "return 1", nil).Err(); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Fatalf("EVAL as scaler: %v, want NOPERM", err)
	}
	auth := map[string]string{"username": "scaler", "password": "scaler-pw"}
	trs := []struct {
		md   map[string]string
		want float64
	}{
		{map[string]string{"listName": "l,z,st,h"}, 4},
		{map[string]string{"listName": "jobs:*"}, 2},
		{map[string]string{"stream": "s"}, 3},
		{map[string]string{"stream": "s", "consumerGroup": "g"}, 1},
		{map[string]string{"stream": "s", "consumerGroup": "g", "lagCount": "1"}, 2},
	}
	var all []*Trigger
	for _, tc := range trs {
		for k, v := range auth {
			tc.md[k] = v
		}
		all = append(all, mustParse(t, srv, tc.md))
	}
	res := pollAt(t, open(t, all[0]), t0, all...)
	for i, tc := range trs {
		if s := mustSample(t, res[i]); s.Value != tc.want {
			t.Errorf("trigger %d (%v): %v, want %v", i, tc.md, s.Value, tc.want)
		}
	}
}

// TestTLS: mutual TLS with PEM inline or from files, unsafeSsl, and the
// failures of a missing client certificate or CA, each naming the server.
func TestTLS(t *testing.T) {
	if ok, why := testredis.TLSSupported(t); !ok {
		testci.Missing(t, "%s", why)
	}
	certs := testredis.NewCerts(t)
	srv := testredis.Start(t, testredis.Config{TLS: certs})
	srv.Do("RPUSH", "q", "1", "2", "3")
	base := map[string]string{"address": srv.Addr, "enableTLS": "true", "listName": "q"}
	tests := []struct {
		name string
		kv   map[string]string
		err  string // "" when the poll must succeed
	}{
		{"PEM inline", map[string]string{"ca": certs.CA, "cert": certs.ClientCert, "key": certs.ClientKey}, ""},
		{"PEM files", map[string]string{"caFile": certs.CAFile, "certFile": certs.ClientCertFile, "keyFile": certs.ClientKeyFile}, ""},
		{"unsafeSsl without CA", map[string]string{"unsafeSsl": "true", "cert": certs.ClientCert, "key": certs.ClientKey}, ""},
		{"no client certificate", map[string]string{"ca": certs.CA}, "redis " + srv.Addr},
		{"unknown CA", map[string]string{"cert": certs.ClientCert, "key": certs.ClientKey}, "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			md := map[string]string{}
			for k, v := range base {
				md[k] = v
			}
			for k, v := range tc.kv {
				md[k] = v
			}
			tr := mustParse(t, nil, md)
			r := pollAt(t, open(t, tr), t0, tr)[0]
			if tc.err != "" {
				wantErr(t, tc.name, r.Err, tc.err, "redis "+srv.Addr)
				return
			}
			if s := mustSample(t, r); s.Value != 3 {
				t.Errorf("value %v, want 3", s.Value)
			}
		})
	}
	// The same PEM inline or from files is the same client.
	a := mustParse(t, nil, map[string]string{"address": srv.Addr, "enableTLS": "true", "listName": "q", "ca": certs.CA})
	b := mustParse(t, nil, map[string]string{"address": srv.Addr, "enableTLS": "true", "listName": "q", "caFile": certs.CAFile})
	if a.Query().Upstream().Key != b.Query().Upstream().Key {
		t.Error("the same CA inline and from a file make different upstreams")
	}
	plain := mustParse(t, nil, map[string]string{"address": srv.Addr, "listName": "q"})
	wantErr(t, "plaintext to a TLS port", pollAt(t, open(t, plain), t0, plain)[0].Err, "redis "+srv.Addr)
}
