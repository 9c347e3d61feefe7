package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// EnvName is the environment variable that sets a flag: TIDE_GRPC_ADDR for
// --grpc-addr.
func EnvName(flagName string) string {
	return "TIDE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// LogFlags are the logging flags every command shares.
type LogFlags struct{ Level, Format string }

// Register adds --log-level and --log-format.
func (l *LogFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&l.Level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&l.Format, "log-format", "text", "log format: text or json")
}

// Logger is the logger the flags ask for, writing to w.
func (l *LogFlags) Logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(l.Level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", l.Level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch l.Format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", l.Format)
}
