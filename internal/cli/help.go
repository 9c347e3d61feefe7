package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// PrintFlags writes fs's flags as --name TYPE and their usage, adding
// "(default V)" only where V says something: not for zero values, not for
// the -1 that means "not given", and not where the usage already says what
// the default is. The environment variable that sets each flag follows.
func PrintFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		fmt.Fprintln(w, line)
		if showDefault(f, usage) {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "        %s [$%s]\n", strings.ReplaceAll(usage, "\n", "\n        "), EnvName(f.Name))
	})
}

// showDefault says whether f's default is worth printing.
func showDefault(f *flag.Flag, usage string) bool {
	switch f.DefValue {
	case "", "0", "0s", "false", "-1":
		return false
	}
	return !strings.Contains(usage, "(default")
}

// ParseFlags parses args, then fills every flag not given on the command
// line from its environment variable; command-line flags win. With -h or
// --help it writes synopsis and the flags to stdout and returns
// flag.ErrHelp (exit 0); every other error is a UsageError (exit 2).
func ParseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer, synopsis string) error {
	fs.Usage = func() {}
	fs.SetOutput(io.Discard) // the error is returned, not printed twice
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprint(stdout, synopsis)
			fmt.Fprintln(stdout, "\nflags:")
			PrintFlags(stdout, fs)
		}
		return Usage(err)
	}
	if fs.NArg() > 0 {
		return Usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v := getenv(EnvName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %w", EnvName(f.Name), v, e)
			}
		}
	})
	return Usage(err)
}

// Kubeconfig is the kubeconfig a command uses: the flag's, else the first
// file of $KUBECONFIG (as kubectl reads it), else "" (in-cluster).
func Kubeconfig(flagValue string, getenv func(string) string) string {
	if flagValue != "" {
		return flagValue
	}
	for _, p := range strings.Split(getenv("KUBECONFIG"), ":") {
		if p = strings.TrimSpace(p); p != "" {
			return p
		}
	}
	return ""
}
