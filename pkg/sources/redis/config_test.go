package redis

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// base is the smallest valid list metadata.
var base = map[string]string{"address": "redis:6379", "listName": "jobs"}

// with returns base changed by key/value pairs; "<unset>" deletes a key.
func with(kv ...string) metadata.Metadata {
	md := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "<unset>" {
			delete(md, kv[i])
			continue
		}
		md[kv[i]] = kv[i+1]
	}
	return md
}

// stream returns stream metadata changed by key/value pairs.
func stream(kv ...string) metadata.Metadata {
	return with(append([]string{"listName", "<unset>", "stream", "events"}, kv...)...)
}

func TestParseDefaults(t *testing.T) {
	tr, err := Parse(with(), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	q, d := tr.query, tr.query.dep
	checks := []struct {
		name      string
		got, want any
	}{
		{"kind", q.kind, readKeys},
		{"names", strings.Join(q.names, ","), "jobs"},
		{"listLength", tr.Target(), 5.0},
		{"activationListLength", tr.activation, 0.0},
		{"redisType", d.mode, modeStandalone},
		{"databaseIndex", d.db, 0},
		{"tls", d.sec.tls == nil, true},
		{"no credentials", d.sec.fingerprint, ""},
		{"MetricName", tr.MetricName(), "redis-jobs"},
		{"Upstream name", q.Upstream().Name, "redis://redis:6379/0"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseStreamModes(t *testing.T) {
	tests := []struct {
		name       string
		md         metadata.Metadata
		kind       readKind
		target     float64
		activation float64
		metric     string
	}{
		{"length by default", stream(), readLength, 5, 0, "redis-streams-events"},
		{"streamLength", stream("streamLength", "50"), readLength, 50, 0, "redis-streams-events"},
		{"pending with a group", stream("consumerGroup", "G"), readPending, 5, 0, "redis-streams-events-g"},
		{"pendingEntriesCount", stream("consumerGroup", "g", "pendingEntriesCount", "7.5"), readPending, 7.5, 0, "redis-streams-events-g"},
		{"lag", stream("consumerGroup", "g", "lagCount", "10", "activationLagCount", "3"), readLag, 10, 3, "redis-streams-events-g"},
		// KEDA's documented example sets every threshold; the mode decides.
		{"lag ignores other thresholds", stream("consumerGroup", "g", "lagCount", "10",
			"pendingEntriesCount", "4", "streamLength", "50"), readLag, 10, 0, "redis-streams-events-g"},
		{"pending ignores streamLength", stream("consumerGroup", "g", "streamLength", "50"), readPending, 5, 0, "redis-streams-events-g"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Parse(tc.md, testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			if tr.query.kind != tc.kind || tr.Target() != tc.target || tr.activation != tc.activation || tr.MetricName() != tc.metric {
				t.Errorf("kind %v target %v activation %v metric %q, want %v %v %v %q",
					tr.query.kind, tr.Target(), tr.activation, tr.MetricName(), tc.kind, tc.target, tc.activation, tc.metric)
			}
		})
	}
}

// TestParseLagTarget: lagTarget is the trigger's, bare numbers are seconds,
// and it leaves the query key alone: every query with a group measures its
// Flow anyway, so triggers with and without it share one reading.
func TestParseLagTarget(t *testing.T) {
	lagMode := []string{"consumerGroup", "g", "lagCount", "10", "metricMode", "Replicas"}
	plain, err := Parse(stream(lagMode...), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]time.Duration{"30s": 30 * time.Second, "90": 90 * time.Second, "1s": time.Second, "24h": 24 * time.Hour} {
		tr, err := Parse(stream(append(lagMode, "lagTarget", v)...), testPolicy)
		if err != nil {
			t.Fatalf("lagTarget %q: %v", v, err)
		}
		if tr.lagTarget != want || tr.Query().Key() != plain.Query().Key() {
			t.Errorf("lagTarget %q: %v, key %q; want %v and key %q", v, tr.lagTarget, tr.Query().Key(), want, plain.Query().Key())
		}
	}
	if plain.lagTarget != 0 {
		t.Errorf("unset lagTarget: %v", plain.lagTarget)
	}
}

func TestParseConnection(t *testing.T) {
	tests := []struct {
		name  string
		md    metadata.Metadata
		check func(*deployment) bool
	}{
		{"addressFromEnv", with("address", "<unset>", "addressFromEnv", "r:1"), func(d *deployment) bool { return d.addrs[0] == "r:1" }},
		{"host and port", with("address", "<unset>", "host", "r", "port", "6380"), func(d *deployment) bool { return d.addrs[0] == "r:6380" }},
		{"hostFromEnv and portFromEnv", with("address", "<unset>", "hostFromEnv", "r", "portFromEnv", "1"), func(d *deployment) bool { return d.addrs[0] == "r:1" }},
		{"IPv6 host", with("address", "<unset>", "host", "::1", "port", "7"), func(d *deployment) bool { return d.addrs[0] == "[::1]:7" }},
		{"cluster addresses sorted", with("address", "<unset>", "redisType", "Cluster", "addresses", "c:2, b:1,c:2"),
			func(d *deployment) bool { return d.mode == modeCluster && strings.Join(d.addrs, ",") == "b:1,c:2" }},
		{"cluster hosts and one port", with("address", "<unset>", "redisType", "cluster", "hosts", "a,b", "ports", "7000"),
			func(d *deployment) bool { return strings.Join(d.addrs, ",") == "a:7000,b:7000" }},
		{"hosts and ports pairwise", with("address", "<unset>", "redisType", "cluster", "hosts", "a,b", "ports", "1,2"),
			func(d *deployment) bool { return strings.Join(d.addrs, ",") == "a:1,b:2" }},
		{"sentinel", with("redisType", "sentinel", "address", "<unset>", "addresses", "s1:26379,s2:26379",
			"sentinelMaster", "mymaster", "sentinelPassword", "sp", "databaseIndex", "3"),
			func(d *deployment) bool {
				return d.mode == modeSentinel && d.master == "mymaster" && d.sentinelPass == "sp" && d.db == 3 &&
					d.endpoint.Name == "redis-sentinel://s1:26379,s2:26379/mymaster/3"
			}},
		{"databaseIndex", with("databaseIndex", "15"), func(d *deployment) bool { return d.db == 15 && d.endpoint.Name == "redis://redis:6379/15" }},
		{"enableTLS", with("enableTLS", "true"), func(d *deployment) bool { return d.sec.tls != nil && !d.sec.unsafeSSL }},
		{"tls: enable", with("tls", "enable", "unsafeSsl", "true"), func(d *deployment) bool { return d.sec.tls.InsecureSkipVerify }},
		{"unsafeSsl without TLS is inert", with("unsafeSsl", "true"), func(d *deployment) bool { return d.sec.tls == nil && !d.sec.unsafeSSL }},
		{"passwordFromEnv", with("passwordFromEnv", "pw"), func(d *deployment) bool { return d.pass == "pw" && d.sec.fingerprint != "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := Parse(tc.md, testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(tr.query.dep) {
				t.Errorf("unexpected deployment %+v", *tr.query.dep)
			}
		})
	}
}

func TestParsePasswordFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tr, err := Parse(with("passwordFile", p), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if tr.query.dep.pass != "from-file" {
		t.Errorf("password %q, want the file's first line", tr.query.dep.pass)
	}
}

func TestParseNames(t *testing.T) {
	tr, err := Parse(with("listName", "b, a,b,bull:*:wait"), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tr.query.names, "|"); got != "a|b|bull:*:wait" {
		t.Errorf("names %q", got)
	}
	if got := tr.MetricName(); got != "redis-a.b.bull---wait" {
		t.Errorf("metric name %q", got)
	}
}

func TestEndpointSharing(t *testing.T) {
	key := func(md metadata.Metadata) string {
		tr, err := Parse(md, testPolicy)
		if err != nil {
			t.Fatal(err)
		}
		return tr.query.Upstream().Key
	}
	same := []struct {
		name string
		a, b metadata.Metadata
	}{
		{"thresholds and names do not matter", with(), with("listName", "other", "listLength", "9")},
		{"lists and streams share", with(), stream("consumerGroup", "g")},
		{"spelling of the address does not matter", with(), with("address", "<unset>", "host", "redis", "port", "6379")},
	}
	for _, tc := range same {
		if key(tc.a) != key(tc.b) {
			t.Errorf("%s: keys differ", tc.name)
		}
	}
	differ := []struct {
		name string
		b    metadata.Metadata
	}{
		{"password", with("password", "x")},
		{"username", with("username", "u")},
		{"database", with("databaseIndex", "1")},
		{"TLS", with("enableTLS", "true")},
		{"address", with("address", "redis:6380")},
	}
	for _, tc := range differ {
		if key(with()) == key(tc.b) {
			t.Errorf("%s: keys equal, want separate clients", tc.name)
		}
	}
	k := key(with("password", "s3cret-PW", "sentinelPassword", "<unset>"))
	if strings.Contains(k, "s3cret-PW") {
		t.Errorf("endpoint key %q holds the password", k)
	}
}

// TestParseErrors: every bad input is a ConfigError naming the key (and the
// value when it is no secret), and no error holds a secret.
func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("s3cret-PW not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		md   metadata.Metadata
		key  string // the key the error must name
		frag string // a fragment the message must hold
	}{
		{"no address", with("address", "<unset>"), "address", "is required"},
		{"no listName or stream", with("listName", "<unset>"), "listName", "stream"},
		{"listName and stream", with("stream", "s"), "listName", "stream is also set"},
		{"listName of commas", with("listName", " , "), "listName", "names no key"},
		{"address without port", with("address", "redis"), "address", "want host:port"},
		{"address with bad port", with("address", "redis:99999"), "address", `"redis:99999"`},
		{"address and host", with("host", "h", "port", "1"), "host", "address is also set"},
		{"host without port", with("address", "<unset>", "host", "h"), "port", "is required with host"},
		{"ports not matching hosts", with("address", "<unset>", "redisType", "cluster", "hosts", "a,b,c", "ports", "1,2"), "ports", "one per host"},
		{"standalone with several nodes", with("address", "<unset>", "addresses", "a:1,b:2"), "addresses", "redisType"},
		{"unknown redisType", with("redisType", "ring"), "redisType", `"ring"`},
		{"sentinel without master", with("redisType", "sentinel"), "sentinelMaster", "is required"},
		{"sentinelMaster without sentinel", with("sentinelMaster", "m"), "sentinelMaster", "redisType: sentinel"},
		{"sentinelPassword without sentinel", with("sentinelPassword", "s3cret-PW"), "redisType", "sentinel"},
		{"cluster with a database", with("redisType", "cluster", "databaseIndex", "2"), "databaseIndex", "only database 0"},
		{"negative database", with("databaseIndex", "-1"), "databaseIndex", "at least 0"},
		{"listLength zero", with("listLength", "0"), "listLength", "greater than 0"},
		{"listLength text", with("listLength", "many"), "listLength", `"many"`},
		{"activationListLength negative", with("activationListLength", "-1"), "activationListLength", "negative"},
		{"stream key on a list trigger", with("consumerGroup", "g"), "consumerGroup", "stream triggers"},
		{"list key on a stream trigger", stream("listLength", "3"), "listLength", "listName triggers"},
		{"lagCount without consumerGroup", stream("lagCount", "3"), "lagCount", "requires consumerGroup"},
		{"pendingEntriesCount without consumerGroup", stream("pendingEntriesCount", "3"), "pendingEntriesCount", "requires consumerGroup"},
		{"lagCount zero", stream("consumerGroup", "g", "lagCount", "0"), "lagCount", "greater than 0"},
		{"ignored threshold still checked", stream("consumerGroup", "g", "streamLength", "x"), "streamLength", `"x"`},
		{"enableTLS not a bool", with("enableTLS", "yes please"), "enableTLS", "true or false"},
		{"tls contradicts enableTLS", with("enableTLS", "false", "tls", "enable"), "tls", "contradicts"},
		{"ca without TLS", with("ca", "x"), "enableTLS", "set enableTLS: true"},
		{"ca not PEM", with("enableTLS", "true", "ca", "s3cret-PW"), "ca", "no PEM certificate"},
		{"ca file not PEM", with("enableTLS", "true", "caFile", garbage), "caFile", "no PEM certificate"},
		{"ca file missing", with("enableTLS", "true", "caFile", filepath.Join(dir, "nope")), "caFile", "cannot read"},
		{"cert without key", with("enableTLS", "true", "cert", "x"), "key", "required when cert"},
		{"key without cert", with("enableTLS", "true", "keyFromEnv", "s3cret-PW"), "cert", "required when key"},
		{"key not PEM", with("enableTLS", "true", "cert", "c", "key", "s3cret-PW"), "key", "no PEM block"},
		{"key from env not PEM", with("enableTLS", "true", "cert", "c", "keyFromEnv", "s3cret-PW"), "keyFromEnv", "no PEM block"},
		{"keyPassword", with("enableTLS", "true", "keyPassword", "s3cret-PW"), "keyPassword", "not supported"},
		{"password file missing", with("passwordFile", filepath.Join(dir, "nope")), "passwordFile", "cannot read"},
		{"lagTarget on a list", with("lagTarget", "30s", "metricMode", "replicas"), "lagTarget", "stream triggers"},
		{"lagTarget without consumerGroup", stream("lagTarget", "30s", "metricMode", "replicas"), "lagTarget", "length mode"},
		{"lagTarget in pending mode", stream("consumerGroup", "g", "lagTarget", "30s", "metricMode", "replicas"), "lagTarget", "requires consumerGroup and lagCount"},
		{"lagTarget not a duration", stream("consumerGroup", "g", "lagCount", "10", "lagTarget", "soon", "metricMode", "replicas"), "lagTarget", `"soon"`},
		{"lagTarget zero", stream("consumerGroup", "g", "lagCount", "10", "lagTarget", "0s", "metricMode", "replicas"), "lagTarget", "between 1s and 24h0m0s"},
		{"lagTarget too long", stream("consumerGroup", "g", "lagCount", "10", "lagTarget", "25h", "metricMode", "replicas"), "lagTarget", `"25h"`},
		{"lagTarget below a second", stream("consumerGroup", "g", "lagCount", "10", "lagTarget", "500ms", "metricMode", "replicas"), "lagTarget", "between"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.md, testPolicy)
			ce, ok := isConfigError(err)
			if !ok {
				t.Fatalf("error %v (%T), want a ConfigError", err, err)
			}
			if ce.Key != tc.key {
				t.Errorf("error %q names key %q, want %q", err, ce.Key, tc.key)
			}
			if !strings.Contains(err.Error(), tc.frag) {
				t.Errorf("error %q does not hold %q", err, tc.frag)
			}
			if strings.Contains(err.Error(), "s3cret-PW") {
				t.Errorf("error %q holds a secret", err)
			}
		})
	}
}
