package scalercmd

import (
	"bytes"
	"context"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/cli"
)

func env(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }

func TestServeFlagsFromEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(*serveConfig) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c *serveConfig) bool {
			return c.grpcAddr == ":9090" && c.httpAddr == ":8080" && c.engine.PollInterval == 2*time.Second &&
				c.engine.MaxStaleness == 0 && c.shutdownTimeout == 10*time.Second &&
				c.engine.ProbeInterval == 250*time.Millisecond
		}, ""},
		{"activation probe off", []string{"--activation-probe-interval", "0s"}, nil,
			func(c *serveConfig) bool { return c.engine.ProbeInterval == 0 }, ""},
		{"negative activation probe", []string{"--activation-probe-interval", "-1s"}, nil, nil, "--activation-probe-interval"},
		{"env fills unset flags", nil, map[string]string{"TIDE_GRPC_ADDR": "127.0.0.1:1", "TIDE_POLL_INTERVAL": "500ms", "TIDE_TLS_CLIENT_CA": "/ca.pem"},
			func(c *serveConfig) bool {
				return c.grpcAddr == "127.0.0.1:1" && c.engine.PollInterval == 500*time.Millisecond && c.tls.ClientCA == "/ca.pem"
			}, ""},
		{"flag wins over env", []string{"--grpc-addr", ":7000"}, map[string]string{"TIDE_GRPC_ADDR": ":1"},
			func(c *serveConfig) bool { return c.grpcAddr == ":7000" }, ""},
		{"bad env value names the variable", nil, map[string]string{"TIDE_POLL_INTERVAL": "soon"}, nil, `TIDE_POLL_INTERVAL="soon"`},
		{"non-positive interval", []string{"--poll-interval", "0s"}, nil, nil, "--poll-interval"},
		{"negative staleness", []string{"--max-staleness", "-1s"}, nil, nil, "--max-staleness"},
		{"stray argument", []string{"extra"}, nil, nil, `unexpected argument "extra"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var cfg serveConfig
			cfg.register(fs)
			err := cli.ParseFlags(fs, tc.args, env(tc.env), io.Discard, "")
			if err == nil {
				err = cfg.validate()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v; want it to mention %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(&cfg) {
				t.Errorf("config = %+v", cfg)
			}
		})
	}
}

func TestRunCommands(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"version"}, env(nil), &out, &errb); err != nil || !strings.Contains(out.String(), "tide scaler") {
		t.Errorf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, env(nil), &out, &errb); err == nil || !strings.Contains(err.Error(), `"frobnicate"`) {
		t.Errorf("unknown command: %v", err)
	}
	if err := run(context.Background(), nil, env(nil), &out, &errb); err == nil {
		t.Error("no command: want an error")
	}
	err := run(context.Background(), []string{"serve", "--log-format", "xml"}, env(nil), &out, &errb)
	if err == nil || !strings.Contains(err.Error(), `--log-format "xml"`) {
		t.Errorf("bad log format: %v", err)
	}
}

// TestServeStopsOnCancel runs the real serve path on loopback ports and
// checks it drains and returns when its context ends (SIGTERM in main).
func TestServeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--shutdown-timeout", "2s"},
			env(nil), io.Discard, io.Discard)
	}()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
}
