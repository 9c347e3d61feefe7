package kafka

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// base is the smallest valid metadata.
var base = map[string]string{"bootstrapServers": "b2:9092,b1:9092", "consumerGroup": "g"}

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

func TestParseDefaults(t *testing.T) {
	tr, err := Parse(with(), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	q := tr.query
	checks := []struct {
		name      string
		got, want any
	}{
		{"lagThreshold", tr.lagThreshold, 10.0},
		{"Target", tr.Target(), 10.0},
		{"activationLagThreshold", tr.activationLagThreshold, 0.0},
		{"offsetResetPolicy earliest", q.opt.earliest, false},
		{"allowIdleConsumers", tr.allowIdleConsumers, false},
		{"excludePersistentLag", q.opt.excludePersistentLag, false},
		{"scaleToZeroOnInvalidOffset", q.opt.scaleToZeroOnInvalidOffset, false},
		{"limitToPartitionsWithLag", q.opt.limitToPartitionsWithLag, false},
		{"ensureEvenDistributionOfPartitions", tr.evenDistribution, false},
		{"partitionLimitation", q.partitions == nil, true},
		{"topic", len(q.topics), 0},
		{"tls", q.cluster.sec.tls == nil, true},
		{"sasl", q.cluster.sec.saslName, "none"},
		{"brokers sorted", strings.Join(q.cluster.brokers, ","), "b1:9092,b2:9092"},
		{"MetricName", tr.MetricName(), "kafka-g"},
		{"Upstream name", q.Upstream().Name, "kafka://b1:9092,b2:9092"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name  string
		md    metadata.Metadata
		check func(*Trigger) bool
	}{
		{"lagThreshold float", with("lagThreshold", "2.5"), func(tr *Trigger) bool { return tr.lagThreshold == 2.5 }},
		{"activationLagThreshold", with("activationLagThreshold", "7"), func(tr *Trigger) bool { return tr.activationLagThreshold == 7 }},
		{"earliest any case", with("offsetResetPolicy", "Earliest"), func(tr *Trigger) bool { return tr.query.opt.earliest }},
		{"topics sorted and unique", with("topic", "b, a,b"), func(tr *Trigger) bool { return strings.Join(tr.query.topics, ",") == "a,b" }},
		{"partitionLimitation merged", with("topic", "t", "partitionLimitation", "3,1,2,10-20,15-25"),
			func(tr *Trigger) bool { return tr.query.partitions.String() == "1-3,10-25" }},
		{"flags", with("topic", "t", "allowIdleConsumers", "true", "excludePersistentLag", "1",
			"scaleToZeroOnInvalidOffset", "TRUE", "ensureEvenDistributionOfPartitions", "true"),
			func(tr *Trigger) bool {
				o := tr.query.opt
				return tr.allowIdleConsumers && o.excludePersistentLag && o.scaleToZeroOnInvalidOffset && tr.evenDistribution
			}},
		{"limitToPartitionsWithLag", with("topic", "t", "limitToPartitionsWithLag", "true"),
			func(tr *Trigger) bool { return tr.query.opt.limitToPartitionsWithLag }},
		{"sasl plaintext", with("sasl", "plaintext", "username", "u", "password", "p"),
			func(tr *Trigger) bool { return tr.query.cluster.sec.mechanism.Name() == "PLAIN" }},
		{"sasl scram_sha512 from env", with("sasl", "scram_sha512", "usernameFromEnv", "u", "passwordFromEnv", "p"),
			func(tr *Trigger) bool { return tr.query.cluster.sec.mechanism.Name() == "SCRAM-SHA-512" }},
		{"oauthbearer", oauth("scopes", "kafka.read, kafka:write", "oauthExtensions", "logicalCluster=lkc-1, identityPoolId = pool-2"),
			func(tr *Trigger) bool {
				o, ok := tr.query.cluster.sec.mechanism.(*oauthBearer)
				return ok && o.Name() == "OAUTHBEARER" && strings.Join(o.scopes, " ") == "kafka.read kafka:write" &&
					strings.Join(o.extensions, ",") == "identityPoolId=pool-2,logicalCluster=lkc-1" &&
					o.clientID == "client" && o.secret == "hunter2-SECRET-pw"
			}},
		{"oauthbearer with KEDA's bearer provider", oauth("saslTokenProvider", "Bearer"),
			func(tr *Trigger) bool { return tr.query.cluster.sec.mechanism.Name() == "OAUTHBEARER" }},
		{"aws_msk_iam", msk(), func(tr *Trigger) bool {
			m, ok := tr.query.cluster.sec.mechanism.(*mskIAM)
			return ok && m.Name() == "AWS_MSK_IAM" && m.region == "us-east-1" && tr.query.cluster.sec.saslName == "aws_msk_iam"
		}},
		{"KEDA's msk spelling", msk("sasl", "oauthbearer", "saslTokenProvider", "aws_msk_iam"),
			func(tr *Trigger) bool { return tr.query.cluster.sec.mechanism.Name() == "AWS_MSK_IAM" }},
		{"tls unsafe", with("tls", "enable", "unsafeSsl", "true"),
			func(tr *Trigger) bool { return tr.query.cluster.sec.tls.InsecureSkipVerify }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Parse(tt.md, testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(tr) {
				t.Errorf("unexpected trigger %+v / query %+v", tr, tr.query)
			}
		})
	}
}

func TestParseTLS(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte(p.clientKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		md    metadata.Metadata
		certs int
	}{
		{"ca only", with("tls", "enable", "ca", p.caPEM), 0},
		{"client cert inline", with("tls", "enable", "ca", p.caPEM, "cert", p.clientCert, "key", p.clientKey), 1},
		{"key from file", with("tls", "enable", "certFromEnv", p.clientCert, "keyFile", keyFile), 1},
		{"encrypted key", with("tls", "enable", "cert", p.clientCert, "key", p.encryptedKey, "keyPassword", p.keyPassword), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Parse(tt.md, testPolicy)
			if err != nil {
				t.Fatal(err)
			}
			cfg := tr.query.cluster.sec.tls
			if cfg == nil || len(cfg.Certificates) != tt.certs || cfg.MinVersion == 0 {
				t.Errorf("tls config %+v, want %d client certificates", cfg, tt.certs)
			}
		})
	}
}

// oauth is valid OAUTHBEARER metadata changed by kv.
func oauth(kv ...string) metadata.Metadata {
	return with(append([]string{"sasl", "oauthbearer", "username", "client", "password", "hunter2-SECRET-pw",
		"oauthTokenEndpointUri", "https://idp.example/oauth2/token"}, kv...)...)
}

// msk is valid AWS_MSK_IAM metadata changed by kv.
func msk(kv ...string) metadata.Metadata {
	return with(append([]string{"sasl", "aws_msk_iam", "tls", "enable", "awsRegion", "us-east-1"}, kv...)...)
}

func TestParseErrors(t *testing.T) {
	p := newPKI(t)
	const pw = "hunter2-SECRET-pw"
	const badPEM = "-----BEGIN NOTHING-----SECRET-PEM-BYTES"
	tests := []struct {
		name      string
		md        metadata.Metadata
		key       string
		value     string // must appear in the error
		alsoNamed string // a second key the error must name
	}{
		{"missing bootstrapServers", with("bootstrapServers", "<unset>"), "bootstrapServers", "", ""},
		{"blank bootstrapServers", with("bootstrapServers", " , "), "bootstrapServers", "", ""},
		{"broker without port", with("bootstrapServers", "b1"), "bootstrapServers", "b1", ""},
		{"broker bad port", with("bootstrapServers", "b1:99999"), "bootstrapServers", "b1:99999", ""},
		{"missing consumerGroup", with("consumerGroup", "<unset>"), "consumerGroup", "", ""},
		{"bad topic", with("topic", "ok,bad topic!"), "topic", "bad topic!", ""},
		{"lagThreshold text", with("lagThreshold", "ten"), "lagThreshold", "ten", ""},
		{"lagThreshold negative", with("lagThreshold", "-1"), "lagThreshold", "-1", ""},
		{"lagThreshold zero", with("lagThreshold", "0"), "lagThreshold", "0", ""},
		{"lagThreshold NaN", with("lagThreshold", "NaN"), "lagThreshold", "NaN", ""},
		{"activation negative", with("activationLagThreshold", "-0.5"), "activationLagThreshold", "-0.5", ""},
		{"offsetResetPolicy", with("offsetResetPolicy", "middle"), "offsetResetPolicy", "middle", ""},
		{"bool", with("allowIdleConsumers", "yes please"), "allowIdleConsumers", "yes please", ""},
		{"partitions open range", with("topic", "t", "partitionLimitation", "1-"), "partitionLimitation", "1-", ""},
		{"partitions letter", with("topic", "t", "partitionLimitation", "a"), "partitionLimitation", "a", ""},
		{"partitions reversed", with("topic", "t", "partitionLimitation", "1,5-2"), "partitionLimitation", "5-2", ""},
		{"partitions negative", with("topic", "t", "partitionLimitation", "-1"), "partitionLimitation", "-1", ""},
		{"partitions overflow", with("topic", "t", "partitionLimitation", "99999999999"), "partitionLimitation", "99999999999", ""},
		{"partitions empty items", with("topic", "t", "partitionLimitation", ",,"), "partitionLimitation", ",,", ""},
		{"partitions without topic", with("partitionLimitation", "1"), "partitionLimitation", "1", "topic"},
		{"limit without topic", with("limitToPartitionsWithLag", "true"), "limitToPartitionsWithLag", "true", "topic"},
		{"limit with idle", with("topic", "t", "limitToPartitionsWithLag", "true", "allowIdleConsumers", "true"),
			"limitToPartitionsWithLag", "true", "allowIdleConsumers"},
		{"limit with even", with("topic", "t", "limitToPartitionsWithLag", "true", "ensureEvenDistributionOfPartitions", "true"),
			"limitToPartitionsWithLag", "true", "ensureEvenDistributionOfPartitions"},
		{"even without topic", with("ensureEvenDistributionOfPartitions", "true"), "ensureEvenDistributionOfPartitions", "true", "topic"},
		{"persistentLagPolls 1", with("persistentLagPolls", "1"), "persistentLagPolls", "1", ""},
		{"persistentLagPolls text", with("persistentLagPolls", "many"), "persistentLagPolls", "many", ""},
		{"persistentLagPolls huge", with("persistentLagPolls", "10001"), "persistentLagPolls", "10001", ""},
		{"persistentLagPolls with excludePersistentLag", with("persistentLagPolls", "3", "excludePersistentLag", "true"),
			"persistentLagPolls", "3", "excludePersistentLag"},
		{"persistentLagTimeout alone", with("persistentLagTimeout", "5m"), "persistentLagTimeout", "5m", "persistentLagPolls"},
		{"persistentLagTimeout negative", with("persistentLagPolls", "3", "persistentLagTimeout", "-1s"), "persistentLagTimeout", "-1s", ""},
		{"persistentLagTimeout too long", with("persistentLagPolls", "3", "persistentLagTimeout", "25h"), "persistentLagTimeout", "25h", ""},
		{"lagTarget zero", with("metricMode", "replicas", "lagTarget", "0s"), "lagTarget", "0s", ""},
		{"lagTarget too long", with("metricMode", "replicas", "lagTarget", "25h"), "lagTarget", "25h", ""},
		{"lagTarget text", with("metricMode", "replicas", "lagTarget", "soon"), "lagTarget", "soon", ""},
		{"drainGoal zero", with("drainGoal", "0s"), "drainGoal", "0s", ""},
		{"drainGoal too long", with("drainGoal", "25h"), "drainGoal", "25h", ""},
		{"drainGoal text", with("drainGoal", "soon"), "drainGoal", "soon", ""},
		{"drainGoal with lagTarget", with("drainGoal", "60s", "lagTarget", "30s"), "drainGoal", "60s", "lagTarget"},
		{"drainPodStart alone", with("drainPodStart", "30s"), "drainPodStart", "30s", "drainGoal"},
		{"drainRebalancePause alone", with("drainRebalancePause", "10s"), "drainRebalancePause", "10s", "drainGoal"},
		{"consumerRate alone", with("consumerRate", "20"), "consumerRate", "20", "drainGoal"},
		{"drainPodStart negative", with("drainGoal", "60s", "drainPodStart", "-1s"), "drainPodStart", "-1s", ""},
		{"drainRebalancePause too long", with("drainGoal", "60s", "drainRebalancePause", "2h"), "drainRebalancePause", "2h", ""},
		{"consumerRate zero", with("drainGoal", "60s", "consumerRate", "0"), "consumerRate", "0", ""},
		{"consumerRate text", with("drainGoal", "60s", "consumerRate", "fast"), "consumerRate", "fast", ""},
		{"tls value", with("tls", "maybe"), "tls", "maybe", ""},
		{"unsafeSsl value", with("tls", "enable", "unsafeSsl", "sure"), "unsafeSsl", "sure", ""},
		{"certs without tls", with("ca", p.caPEM), "tls", "disable", ""},
		{"cert without key", with("tls", "enable", "cert", p.clientCert), "key", "", "cert"},
		{"key without cert", with("tls", "enable", "key", p.clientKey), "cert", "", "key"},
		{"bad ca", with("tls", "enable", "ca", badPEM), "ca", "", ""},
		{"bad ca from env", with("tls", "enable", "caFromEnv", badPEM), "caFromEnv", "", ""},
		{"missing caFile", with("tls", "enable", "caFile", "/nonexistent/ca.pem"), "caFile", "/nonexistent/ca.pem", ""},
		{"bad key", with("tls", "enable", "cert", p.clientCert, "key", badPEM), "key", "", ""},
		{"mismatched pair", with("tls", "enable", "cert", p.clientCert, "key", p.serverKey), "cert", "", ""},
		{"wrong keyPassword", with("tls", "enable", "cert", p.clientCert, "key", p.encryptedKey, "keyPassword", pw), "keyPassword", "", ""},
		{"unknown sasl", with("sasl", "kerberos"), "sasl", "kerberos", ""},
		{"gssapi", with("sasl", "GSSAPI"), "sasl", "GSSAPI", "aws_msk_iam"},
		{"oauthbearer without token URL", with("sasl", "oauthbearer", "username", "u", "password", pw), "oauthTokenEndpointUri", "", "oauthbearer"},
		{"oauthbearer without client id", oauth("username", "<unset>"), "username", "", "client id"},
		{"oauthbearer without secret", oauth("password", "<unset>"), "password", "", "client secret"},
		{"token URL scheme", oauth("oauthTokenEndpointUri", "ftp://idp.example/token"), "oauthTokenEndpointUri", "", "http"},
		{"token URL unparsable", oauth("oauthTokenEndpointUri", "https://u:"+pw+"@idp:port/"), "oauthTokenEndpointUri", "", ""},
		{"token URL relative", oauth("oauthTokenEndpointUri", "/token"), "oauthTokenEndpointUri", "", ""},
		{"token URL with credentials", oauth("oauthTokenEndpointUri", "https://u:"+pw+"@idp.example/token"),
			"oauthTokenEndpointUri", "https://idp.example/token", "username"},
		{"bad scope", oauth("scopes", "kafka.read, bad scope"), "scopes", "bad scope", ""},
		{"extension without value", oauth("oauthExtensions", "a=1,novalue"), "oauthExtensions", "novalue", ""},
		{"extension auth", oauth("oauthExtensions", "auth=Bearer x"), "oauthExtensions", "auth=Bearer x", "reserved"},
		{"extension key", oauth("oauthExtensions", "bad_key=1"), "oauthExtensions", "bad_key=1", "letters"},
		{"extension value", oauth("oauthExtensions", "k=a\u0001b"), "oauthExtensions", "", "printable"},
		{"extension twice", oauth("oauthExtensions", "a=1,a=2"), "oauthExtensions", "a=2", "twice"},
		{"token URL without oauthbearer", with("sasl", "plaintext", "username", "u", "password", pw,
			"oauthTokenEndpointUri", "https://idp.example/token"), "oauthTokenEndpointUri", "", "oauthbearer"},
		{"scopes without sasl", with("scopes", "a"), "scopes", "", "oauthbearer"},
		{"msk without tls", with("sasl", "aws_msk_iam", "awsRegion", "us-east-1"), "tls", "disable", "aws_msk_iam"},
		{"msk without region", with("sasl", "aws_msk_iam", "tls", "enable"), "awsRegion", "", "aws_msk_iam"},
		{"msk bad region", msk("awsRegion", "us east 1"), "awsRegion", "us east 1", ""},
		{"msk upper-case region", msk("awsRegion", "US-EAST-1"), "awsRegion", "US-EAST-1", ""},
		{"msk region without number", msk("awsRegion", "us-east"), "awsRegion", "us-east", ""},
		{"msk with password", msk("username", "u", "password", pw), "sasl", "aws_msk_iam", "AWS default chain"},
		{"region without msk", with("sasl", "scram_sha256", "username", "u", "password", pw, "awsRegion", "us-east-1"),
			"awsRegion", "", "aws_msk_iam"},
		{"unknown saslTokenProvider", oauth("saslTokenProvider", "azure"), "saslTokenProvider", "azure", ""},
		{"saslTokenProvider without oauthbearer", with("sasl", "plaintext", "username", "u", "password", pw,
			"saslTokenProvider", "aws_msk_iam"), "saslTokenProvider", "aws_msk_iam", "oauthbearer"},
		{"KEDA msk spelling without tls", with("sasl", "oauthbearer", "saslTokenProvider", "aws_msk_iam", "awsRegion", "us-east-1"),
			"tls", "disable", ""},
		{"sasl without username", with("sasl", "plaintext", "password", pw), "username", "", "sasl"},
		{"sasl without password", with("sasl", "scram_sha256", "username", "u"), "password", "", "sasl"},
		{"credentials without sasl", with("username", "u", "password", pw), "sasl", "none", ""},
		{"scram unusable password", with("sasl", "scram_sha256", "username", "u", "password", pw+"\u0007"), "sasl", "scram_sha256", ""},
	}
	secrets := []string{pw, "SECRET-PEM-BYTES", p.clientKey, p.serverKey, p.keyPassword, p.encryptedKey}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Parse(tt.md, testPolicy)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", tr)
			}
			ce, ok := isConfigError(err)
			if !ok {
				t.Fatalf("error %T %v is not a *metadata.ConfigError", err, err)
			}
			msg := err.Error()
			if ce.Key != tt.key || !strings.Contains(msg, `"`+tt.key+`"`) {
				t.Errorf("error %q names key %q, want %q", msg, ce.Key, tt.key)
			}
			if tt.value != "" && !strings.Contains(msg, tt.value) {
				t.Errorf("error %q does not contain the bad value %q", msg, tt.value)
			}
			if tt.alsoNamed != "" && !strings.Contains(msg, tt.alsoNamed) {
				t.Errorf("error %q does not name %q", msg, tt.alsoNamed)
			}
			for _, s := range secrets {
				if strings.Contains(msg, strings.TrimSpace(s)) {
					t.Errorf("error %q leaks a secret", msg)
				}
			}
		})
	}
}

// TestParseSASLListsWorkingMechanisms: the sasl error offers exactly the
// mechanisms that work, and gssapi is refused by name.
func TestParseSASLListsWorkingMechanisms(t *testing.T) {
	const want = "want one of none, plaintext, scram_sha256, scram_sha512, oauthbearer, aws_msk_iam"
	for _, v := range []string{"kerberos", "gssapi"} {
		_, err := Parse(with("sasl", v), testPolicy)
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("sasl %s: error %v, want it to end %q", v, err, want)
		}
	}
}

// TestParseUpstreamSeparatesAuth: triggers that authenticate differently
// never share an upstream, and the upstream key holds no setting in clear.
func TestParseUpstreamSeparatesAuth(t *testing.T) {
	base := oauth("scopes", "a", "oauthExtensions", "k=v")
	variants := []metadata.Metadata{
		oauth("scopes", "a", "oauthExtensions", "k=v", "oauthTokenEndpointUri", "https://other.example/oauth2/token"),
		oauth("scopes", "b", "oauthExtensions", "k=v"),
		oauth("scopes", "a", "oauthExtensions", "k=w"),
		oauth("scopes", "a", "oauthExtensions", "k=v", "username", "client2"),
		msk(), msk("awsRegion", "eu-west-1"),
	}
	keys := map[string]bool{}
	for i, md := range append([]metadata.Metadata{base}, variants...) {
		tr, err := Parse(md, testPolicy)
		if err != nil {
			t.Fatal(err)
		}
		k := tr.Query().Upstream().Key
		if keys[k] {
			t.Errorf("variant %d shares upstream %s", i, k)
		}
		keys[k] = true
		for _, clear := range []string{"idp.example", "other.example", "eu-west-1", "hunter2"} {
			if strings.Contains(k, clear) {
				t.Errorf("upstream key %q holds %q", k, clear)
			}
		}
	}
	again, err := Parse(oauth("oauthExtensions", "k=v", "scopes", "a"), testPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if first, _ := Parse(base, testPolicy); again.Query().Upstream() != first.Query().Upstream() {
		t.Error("the same settings read another upstream")
	}
}
