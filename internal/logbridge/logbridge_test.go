package logbridge

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"k8s.io/klog/v2"

	"github.com/tide-scaler/tide/internal/fdcapture"
	"github.com/tide-scaler/tide/internal/testlog"
)

// install sets up a JSON logger into a buffer, Installs it and captures
// fd 2; the returned stop ends the capture and returns fd 2's text.
func install(t *testing.T) (*testlog.Buffer, func() string) {
	t.Helper()
	var buf testlog.Buffer
	stop, err := fdcapture.Stderr()
	if err != nil {
		t.Fatalf("capture stderr: %v", err)
	}
	// Install wires the libraries once per process and then only swaps
	// the logger, so each test sees its own buffer.
	Install(slog.New(slog.NewJSONHandler(&buf, nil)))
	return &buf, stop
}

func records(t *testing.T, buf *testlog.Buffer) []map[string]any {
	t.Helper()
	recs, err := testlog.Records(buf.String())
	if err != nil {
		t.Fatalf("log is not slog JSON: %v\n%s", err, buf.String())
	}
	return recs
}

// A real go-redis dial failure: its pool's own log line is a slog JSON
// record, and nothing reaches fd 2.
func TestInstallRoutesGoRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now: dials are refused
	buf, stop := install(t)
	c := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
	err = c.Ping(context.Background()).Err()
	c.Close()
	stderr := stop()
	if err == nil {
		t.Fatalf("ping %s succeeded; want a refused dial", addr)
	}
	recs := records(t, buf)
	if testlog.Find(recs, "connection pool: failed to dial", map[string]string{"level": "WARN", "logger": "go-redis"}) == nil {
		t.Errorf("no go-redis dial record in the slog log:\n%s", buf.String())
	}
	if strings.Contains(stderr, "redis:") {
		t.Errorf("go-redis wrote to fd 2 itself:\n%s", stderr)
	}
}

// klog's leveled, structured, contextual and named calls are slog JSON
// records (warnings as INFO: logr has none); verbosity above klog's -v (0)
// stays silent; nothing reaches fd 2.
func TestInstallRoutesKlog(t *testing.T) {
	buf, stop := install(t)
	klog.Infof("klog-info %d", 1)
	klog.Warning("klog-warning")
	klog.ErrorS(errors.New("boom"), "klog-error", "key", "value")
	klog.Background().Info("klog-contextual", "key", "value")
	klog.Background().WithName("child").Info("klog-named")
	klog.V(5).Info("klog-verbose")
	klog.Flush()
	stderr := stop()
	recs := records(t, buf)
	for _, want := range []struct {
		msg   string
		attrs map[string]string
	}{
		{"klog-info 1", map[string]string{"level": "INFO", "logger": "klog"}},
		{"klog-warning", map[string]string{"level": "INFO", "logger": "klog"}},
		{"klog-error", map[string]string{"level": "ERROR", "logger": "klog", "key": "value", "err": "boom"}},
		{"klog-contextual", map[string]string{"level": "INFO", "logger": "klog", "key": "value"}},
		{"klog-named", map[string]string{"level": "INFO", "logger": "klog/child"}},
	} {
		if testlog.Find(recs, want.msg, want.attrs) == nil {
			t.Errorf("no record %q with %v in the slog log:\n%s", want.msg, want.attrs, buf.String())
		}
	}
	if testlog.Find(recs, "klog-verbose", nil) != nil {
		t.Errorf("klog.V(5) logged at -v=0:\n%s", buf.String())
	}
	if strings.Contains(stderr, "klog-") {
		t.Errorf("klog wrote to fd 2 itself:\n%s", stderr)
	}
}

// Concurrent commands in one process (tests run several serve and explain
// at once) each Install their logger while the libraries log: no race
// (run under -race), and every line lands in one of the installed logs.
func TestInstallConcurrent(t *testing.T) {
	bufs := make([]testlog.Buffer, 8)
	var wg sync.WaitGroup
	for i := range bufs {
		wg.Go(func() {
			Install(slog.New(slog.NewJSONHandler(&bufs[i], nil)))
			klog.InfoS("concurrent", "i", i)
		})
	}
	wg.Wait()
	n := 0
	for i := range bufs {
		n += len(records(t, &bufs[i]))
	}
	if n != len(bufs) {
		t.Errorf("%d records over the installed logs, want %d", n, len(bufs))
	}
}
