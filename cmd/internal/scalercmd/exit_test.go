package scalercmd

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/tide-scaler/tide/internal/cli"
)

// closedAddr is a loopback address nothing listens on: a port that was free
// a moment ago.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// runBinary runs this test binary as the scaler (TestMain runs main) and
// returns its exit code, stdout and stderr.
func runBinary(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), runMainEnv + "=1"}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	t.Fatal(err)
	return -1, "", ""
}

// TestExitCodes runs the real binary and checks the documented exit codes:
// 0 for help, 2 for usage errors, 3 for an invalid trigger, 4 for an
// unavailable upstream, 1 for anything else.
func TestExitCodes(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	closed := closedAddr(t)
	tests := []struct {
		name   string
		args   []string
		env    []string
		code   int
		stdout string // help goes to stdout
		stderr string
	}{
		{"scaler -h", []string{"-h"}, nil, cli.ExitOK, "exit codes:", ""},
		{"scaler --help", []string{"--help"}, nil, cli.ExitOK, "exit codes:", ""},
		{"serve -h", []string{"serve", "-h"}, nil, cli.ExitOK, "--grpc-addr", ""},
		{"serve --help", []string{"serve", "--help"}, nil, cli.ExitOK, "--grpc-addr", ""},
		{"explain -h", []string{"explain", "-h"}, nil, cli.ExitOK, "--first-sample-timeout", ""},
		{"explain --help", []string{"explain", "--help"}, nil, cli.ExitOK, "exit codes:", ""},
		{"version", []string{"version"}, nil, cli.ExitOK, "tide scaler", ""},
		{"no command", nil, nil, cli.ExitUsage, "", "no command given"},
		{"unknown command", []string{"frobnicate"}, nil, cli.ExitUsage, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"serve", "--frobnicate"}, nil, cli.ExitUsage, "", "frobnicate"},
		{"bad flag value", []string{"serve", "--poll-interval", "0s"}, nil, cli.ExitUsage, "", "--poll-interval"},
		{"bad environment value", []string{"serve"}, []string{"TIDE_POLL_INTERVAL=soon"}, cli.ExitUsage, "", "TIDE_POLL_INTERVAL"},
		{"explain without metadata", []string{"explain"}, nil, cli.ExitUsage, "", "no trigger metadata"},
		{"explain stray argument", []string{"explain", "extra"}, nil, cli.ExitUsage, "", `unexpected argument "extra"`},
		{"invalid trigger: unknown source", []string{"explain", "-m", "source=nosuch"}, nil, cli.ExitInvalidTrigger, "", "nosuch"},
		{"invalid trigger: missing key", []string{"explain", "-m", "source=kafka", "-m", "bootstrapServers=" + closed}, nil,
			cli.ExitInvalidTrigger, "", "consumerGroup"},
		{"upstream unavailable: kafka", []string{"explain", "-m", "source=kafka", "-m", "bootstrapServers=" + closed,
			"-m", "consumerGroup=g", "-m", "topic=t", "--first-sample-timeout", "2s"}, nil, cli.ExitUnavailable, "", ""},
		{"upstream unavailable: redis", []string{"explain", "-m", "source=redis", "-m", "address=" + closed,
			"-m", "listName=q", "--first-sample-timeout", "2s"}, nil, cli.ExitUnavailable, "", ""},
		{"other: port in use", []string{"serve", "--grpc-addr", busy.Addr().String(), "--http-addr", "127.0.0.1:0"}, nil,
			cli.ExitError, "", "address already in use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runBinary(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("stdout %q, stderr %q; want them to contain %q and %q", stdout, stderr, tc.stdout, tc.stderr)
			}
		})
	}
}
