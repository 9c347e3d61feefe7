package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/cli"
)

// TestDemoExitCodes: help exits 0 and prints to stdout; a bad flag is a
// usage error (2). None of these cases starts the demo.
func TestDemoExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"-h", []string{"-h"}, cli.ExitOK, "usage: tide-demo"},
		{"--help", []string{"--help"}, cli.ExitOK, "exit codes:"},
		{"run -h", []string{"run", "-h"}, cli.ExitOK, "--partitions"},
		{"explain --help", []string{"explain", "--help"}, cli.ExitOK, "--first-sample-timeout"},
		{"bad flag value", []string{"run", "--partitions", "0"}, cli.ExitUsage, ""},
		{"unknown flag", []string{"run", "--frobnicate"}, cli.ExitUsage, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errb)
			if code := cli.ExitCode(err); code != tc.code {
				t.Errorf("exit code %d, want %d (%v)", code, tc.code, err)
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.stdout)
			}
		})
	}
}
