package kafka

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testclock"
)

// Static test credentials, given to the AWS default chain through the
// environment as IRSA or Pod Identity would give them through files.
const (
	awsKeyID   = "AKIATIDETEST0001"
	awsSecret  = "aws-SECRET-key/7Qx+y"
	awsSession = "session-token-Zz9="
	awsRegion  = "eu-west-1"
)

// mskTime is the injected signing time, years from the real one: a payload
// signed with the wall clock fails the gate's time check.
var mskTime = time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)

// awsEnv points the default chain at the static credentials and at empty
// shared files, and turns EC2 metadata off: no test reaches beyond the
// machine.
func awsEnv(t *testing.T, secret string) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": awsKeyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": awsSession,
		"AWS_REGION": awsRegion, "AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "",
		"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": empty,
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
	} {
		t.Setenv(k, v)
	}
}

// mskGate verifies AWS_MSK_IAM payloads as MSK does: the JSON fields, the
// credential scope, the signing time against the test clock, and the SigV4
// signature of the presigned kafka-cluster:Connect request, recomputed here
// from the static secret (not with the SDK that signed it).
func mskGate(clock *testclock.Clock) *saslGate {
	return &saslGate{mechanism: "AWS_MSK_IAM", verify: func(auth []byte) ([]byte, string) {
		if why := verifyMSK(auth, clock.Now()); why != "" {
			return nil, why
		}
		return nil, ""
	}}
}

func verifyMSK(auth []byte, now time.Time) string {
	var f map[string]string
	if err := json.Unmarshal(auth, &f); err != nil {
		return "payload is not a JSON object of strings"
	}
	date := f["x-amz-date"]
	signedAt, err := time.Parse("20060102T150405Z", date)
	scope := fmt.Sprintf("%s/%s/kafka-cluster/aws4_request", date[:min(8, len(date))], awsRegion)
	switch {
	case f["version"] != "2020_10_22" || f["action"] != "kafka-cluster:Connect" || f["host"] != "127.0.0.1":
		return fmt.Sprintf("version %q action %q host %q", f["version"], f["action"], f["host"])
	case f["x-amz-algorithm"] != "AWS4-HMAC-SHA256" || f["x-amz-signedheaders"] != "host":
		return "algorithm or signed headers"
	case err != nil || signedAt.Sub(now).Abs() > 5*time.Minute:
		return fmt.Sprintf("signed at %q, not within 5 minutes of %v", date, now)
	case f["x-amz-credential"] != awsKeyID+"/"+scope:
		return fmt.Sprintf("credential %q, want scope %s", f["x-amz-credential"], scope)
	case f["x-amz-expires"] != "300" || f["x-amz-security-token"] != awsSession:
		return "expiry or session token"
	}
	// The canonical request of a presigned GET kafka://<host>/?Action=...
	names := map[string]string{"action": "Action", "x-amz-algorithm": "X-Amz-Algorithm",
		"x-amz-credential": "X-Amz-Credential", "x-amz-date": "X-Amz-Date", "x-amz-expires": "X-Amz-Expires",
		"x-amz-security-token": "X-Amz-Security-Token", "x-amz-signedheaders": "X-Amz-SignedHeaders"}
	var query []string
	for k, canon := range names {
		query = append(query, awsEscape(canon)+"="+awsEscape(f[k]))
	}
	slices.Sort(query)
	const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	canonical := "GET\n/\n" + strings.Join(query, "&") + "\nhost:" + f["host"] + "\n\nhost\n" + emptyHash
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + awsSecret)
	for _, part := range []string{date[:8], awsRegion, "kafka-cluster", "aws4_request"} {
		key = hmacSHA256(key, part)
	}
	if !hmac.Equal([]byte(hex.EncodeToString(hmacSHA256(key, toSign))), []byte(f["x-amz-signature"])) {
		return "the signature does not match"
	}
	return ""
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}

// awsEscape is SigV4's URI encoding: all but A-Z a-z 0-9 - _ . ~ as %XX.
func awsEscape(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// mskMD is the trigger metadata for sasl aws_msk_iam over TLS.
func mskMD(p testPKI) map[string]string {
	return map[string]string{"consumerGroup": "g", "topic": "t", "tls": "enable", "ca": p.caPEM,
		"sasl": "aws_msk_iam", "awsRegion": awsRegion}
}

// TestMSKIAMLag reads the exact lag over TLS through connections that
// authenticated with AWS_MSK_IAM, signed with credentials the default
// chain found in the environment; KEDA's spelling (sasl oauthbearer,
// saslTokenProvider aws_msk_iam) shares the same upstream.
func TestMSKIAMLag(t *testing.T) {
	awsEnv(t, awsSecret)
	clock := testclock.New(mskTime)
	p := newPKI(t)
	g := mskGate(clock)
	g.tls = p.serverTLS(t)
	c := g.start(t, p.clientTLS())
	c.createTopic(t, 3, "t")
	c.produce(t, "t", map[int32]int{0: 3, 1: 8, 2: 2})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 3, 1: 1}})

	tr := mustParse(t, c, mskMD(p))
	tr.query.cluster.sec.mechanism.(*mskIAM).now = clock.Now
	md := mskMD(p)
	md["sasl"], md["saslTokenProvider"] = "oauthbearer", "aws_msk_iam"
	if keda := mustParse(t, c, md); keda.Query().Upstream() != tr.Query().Upstream() {
		t.Errorf("KEDA's spelling reads another upstream: %v vs %v", keda.Query().Upstream(), tr.Query().Upstream())
	}
	u := open(t, tr)
	if s := mustSample(t, pollAt(t, u, tr)[0]); s.Value != 0+7+1 {
		t.Fatalf("lag %v, want 8 (2 of them uncommitted)", s.Value)
	}
	if passed, refused, before := g.counts(); passed == 0 || refused != 0 || before != 0 {
		t.Errorf("gate: %d passed, %d refused, %d requests before authentication; want >0, 0, 0", passed, refused, before)
	}
}

// TestMSKIAMRefused: a wrong secret or region fails the signature check,
// and a chain that cannot load fails at connect, not at parse; each is an
// error naming AWS_MSK_IAM and never the secret.
func TestMSKIAMRefused(t *testing.T) {
	clock := testclock.New(mskTime)
	p := newPKI(t)
	g := mskGate(clock)
	g.tls = p.serverTLS(t)
	c := g.start(t, p.clientTLS())
	c.createTopic(t, 1, "t")
	c.produce(t, "t", map[int32]int{0: 5})
	c.commit(t, "g", map[string]map[int32]int64{"t": {0: 1}})
	cases := []struct {
		name, secret, region, profile, want string
	}{
		{"wrong secret", "wrong-SECRET-aws", awsRegion, "", "the signature does not match"},
		{"wrong region", awsSecret, "us-east-1", "", "credential"},
		{"no such profile", awsSecret, awsRegion, "missing-profile", "loading the AWS configuration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			awsEnv(t, tc.secret)
			t.Setenv("AWS_PROFILE", tc.profile)
			md := mskMD(p)
			md["awsRegion"] = tc.region
			tr := mustParse(t, c, md)
			tr.query.cluster.sec.mechanism.(*mskIAM).now = clock.Now
			r := pollAt(t, open(t, tr), tr)[0]
			mustAuthFail(t, r.Err, r.Sample.Value, "AWS_MSK_IAM", tc.secret, awsSecret, awsSession)
			if !strings.Contains(r.Err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", r.Err, tc.want)
			}
		})
	}
}
