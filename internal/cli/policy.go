package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/trigger/builtin"
)

// PolicyFlags are what an operator lets tenants' triggers reach: the
// directories ...File keys may read and the upstreams each source may
// name. serve and explain share them, so a trigger means the same to both.
type PolicyFlags struct {
	secretDirs listFlag
	upstreams  listFlag
}

// listFlag collects values; each Set may carry several, split by sep.
type listFlag struct {
	sep    string
	values []string
}

func (l *listFlag) String() string { return strings.Join(l.values, l.sep) }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, l.sep) {
		if v = strings.TrimSpace(v); v != "" {
			l.values = append(l.values, v)
		}
	}
	return nil
}

// Register adds --secret-dirs and --allow-upstreams.
func (p *PolicyFlags) Register(fs *flag.FlagSet) {
	p.secretDirs.sep, p.upstreams.sep = ",", ";"
	fs.Var(&p.secretDirs, "secret-dirs", "comma list of directories whose files trigger keys ending in File (passwordFile, caFile, ...) may read; "+
		"unset: such keys are refused. Symbolic links may not leave a directory; only regular files up to 64 KiB are read")
	fs.Var(&p.upstreams, "allow-upstreams", "SOURCE=PATTERN[,PATTERN...], repeatable or ';'-separated: the only hosts triggers of SOURCE "+
		"(kafka, redis, inference, or * for all) may make the scaler connect to. A pattern is a host name, *.domain, an IP or a CIDR, "+
		"each optionally :port (IPv6 in brackets). Unset: any upstream")
}

// Options checks the flags and returns the sources' options; errors name
// the flag.
func (p *PolicyFlags) Options() (builtin.Options, error) {
	files, err := metadata.NewFiles(p.secretDirs.values, "its operator allows a directory with --secret-dirs")
	if err != nil {
		return builtin.Options{}, fmt.Errorf("--secret-dirs: %w", err)
	}
	rules, err := allow.ParseRules(p.upstreams.values, builtin.Names)
	if err != nil {
		return builtin.Options{}, fmt.Errorf("--allow-upstreams: %w", err)
	}
	return builtin.Options{Files: files, Upstreams: rules}, nil
}
