package scalercmd

import (
	"bytes"
	"context"
	"flag"
	"regexp"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/internal/cli"
)

// helpOf runs `scaler <cmd> -h` and returns what it prints.
func helpOf(t *testing.T, cmd string) string {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{cmd, "-h"}, env(nil), &out, &errb)
	if cli.ExitCode(err) != cli.ExitOK || errb.Len() != 0 {
		t.Fatalf("%s -h: %v, stderr %q", cmd, err, errb.String())
	}
	return out.String()
}

// TestHelpTextHasNoDoubledOrInternalDefaults: each flag's help says its
// default once at most, never the -1 that means "not given", and flags are
// spelled --name.
func TestHelpTextHasNoDoubledOrInternalDefaults(t *testing.T) {
	for _, cmd := range []string{"serve", "explain"} {
		help := helpOf(t, cmd)
		for _, entry := range strings.Split(help, "\n  --")[1:] {
			if n := strings.Count(entry, "(default"); n > 1 {
				t.Errorf("%s: doubled default in --%s", cmd, entry)
			}
			if regexp.MustCompile(`\(default (-1|0|0s|false)\)`).MatchString(entry) {
				t.Errorf("%s: internal default in --%s", cmd, entry)
			}
		}
		if strings.Contains(help, "\n  -") && !strings.Contains(help, "\n  --") {
			t.Errorf("%s: flags not spelled --name:\n%s", cmd, help)
		}
	}
}

// TestSameFlagNamesInServeAndExplain: what both commands configure has one
// name (and so one TIDE_ variable).
func TestSameFlagNamesInServeAndExplain(t *testing.T) {
	serve := flag.NewFlagSet("serve", flag.ContinueOnError)
	var sc serveConfig
	sc.register(serve)
	explainHelp := helpOf(t, "explain")
	for _, name := range []string{"poll-interval", "first-sample-timeout", "kubeconfig", "log-level", "log-format", "secret-dirs", "allow-upstreams", "hpa-tolerance", "hpa-configurable-tolerance"} {
		if serve.Lookup(name) == nil {
			t.Errorf("serve has no --%s", name)
		}
		if !strings.Contains(explainHelp, "\n  --"+name+" ") && !strings.Contains(explainHelp, "\n  --"+name+"\n") {
			t.Errorf("explain has no --%s", name)
		}
	}
}
