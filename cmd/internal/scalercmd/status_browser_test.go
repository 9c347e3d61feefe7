package scalercmd

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	pb "github.com/tide-scaler/tide/proto/externalscaler"

	"github.com/tide-scaler/tide/internal/testci"
	"github.com/tide-scaler/tide/internal/testpki"
	"github.com/tide-scaler/tide/internal/testredis"
)

// axeScript is axe-core's browser build, installed from testdata/axe's
// package-lock.json by scripts/deps.sh (or here, with npm ci).
func axeScript(t *testing.T) string {
	t.Helper()
	dir, _ := filepath.Abs(filepath.Join("..", "..", "scaler", "testdata", "axe"))
	file := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(file); err != nil {
		npm, lerr := exec.LookPath("npm")
		if lerr != nil {
			testci.Missing(t, "%s is not installed and npm is not on PATH (apt-get install npm; cd %s && npm ci)", file, dir)
		}
		cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			testci.Missing(t, "npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// spki is the base64 SHA-256 of a PEM certificate's public key: what
// Chromium's --ignore-certificate-errors-spki-list trusts, and nothing else.
func spki(t *testing.T, certPEM string) string {
	t.Helper()
	blk, _ := pem.Decode([]byte(certPEM))
	if blk == nil {
		t.Fatal("server certificate is not PEM")
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

var pointsRE = regexp.MustCompile(`\((\d+) points\)`)

// TestStatusPageInBrowser runs serve (HTTPS on its HTTP port) with three
// triggers that KEDA's RPCs made known: two on a real redis-server in
// namespace shop, one on an unreachable Redis in namespace broken. It waits
// until the page has charted a few steps, then loads it in a real headless
// Chromium (chromium.go) and checks what the browser shows (statusBrowser).
func TestStatusPageInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testci.Missing(t, "chromium is not on PATH (apt-get install chromium; scripts/deps.sh installs it)")
	}
	axe := axeScript(t)
	rs := testredis.Start(t, testredis.Config{})
	rc := rs.Client()
	pki := testpki.New(t)
	srv := startServe(t, "--poll-interval", "100ms", "--status-step", "200ms", "--status-history", "4s",
		"--http-tls-cert", pki.ServerCertFile, "--http-tls-key", pki.ServerKeyFile)
	client := scalerClient(t, srv.GRPCAddr())

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := rc.RPush(ctx, "jobs", make([]any, 12)...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.RPush(ctx, "mail", make([]any, 3)...).Err(); err != nil {
		t.Fatal(err)
	}
	for _, so := range []*pb.ScaledObjectRef{
		{Namespace: "shop", Name: "worker", ScalerMetadata: map[string]string{"source": "redis", "address": rs.Addr, "listName": "jobs", "listLength": "5"}},
		{Namespace: "shop", Name: "mailer", ScalerMetadata: map[string]string{"source": "redis", "address": rs.Addr, "listName": "mail", "listLength": "2", "metricMode": "replicas"}},
		{Namespace: "broken", Name: "lost", ScalerMetadata: map[string]string{"source": "redis", "address": "127.0.0.1:1", "listName": "jobs"}},
	} {
		_, err := client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: so, MetricName: "m"})
		if (err != nil) != (so.Namespace == "broken") {
			t.Fatalf("GetMetrics %s/%s: %v", so.Namespace, so.Name, err)
		}
	}
	// The demand moves while the page records: the chart has steps.
	tc := pki.ClientTLS(t)
	page := func() string {
		_, body, err := httpCall(t, tc, srv.HTTPAddr(), "GET", "/status", "", "")
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
	for i := 0; ; i++ {
		body := page()
		if m := pointsRE.FindAllStringSubmatch(body, -1); len(m) == 2 && atoi(m[0][1]) >= 8 && atoi(m[1][1]) >= 8 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the page never charted 8 points for both redis triggers:\n%s", body)
		}
		if err := rc.RPush(ctx, "jobs", i).Err(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // polling for the recorder's next point
	}
	b := startChromium(t, chromium, spki(t, pki.ServerCert))
	statusBrowser(t, b, "https://"+srv.HTTPAddr()+"/status", axe)
}
