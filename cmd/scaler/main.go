// Command scaler is Tide: a KEDA external scaler for Kafka consumer-group
// lag, Redis queue depth and inference load, read by a shared background
// poller; without KEDA it also serves the external metrics API and owns
// 0 <-> 1 and node headroom.
//
//	scaler serve     run the gRPC external scaler and its HTTP endpoints
//	scaler explain   show what the scaler makes of one trigger and what the HPA does with it
//	scaler migrate   rewrite KEDA's built-in kafka, redis, redis-streams and prometheus triggers as Tide triggers
//	scaler version   print the version, revision and Go toolchain
//
// The demo is its own command (cmd/tide-demo), so this binary links no demo
// machinery.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	report(os.Stderr, err)
	os.Exit(cli.ExitCode(err))
}

// report writes err, unless it is a request for help, and a pointer to the
// help after a usage error.
func report(stderr io.Writer, err error) {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	fmt.Fprintln(stderr, "scaler:", err)
	if cli.ExitCode(err) == cli.ExitUsage {
		fmt.Fprintln(stderr, `run "scaler -h" or "scaler <command> -h" for help`)
	}
}

const usage = `usage: scaler <command> [flags]

commands:
  serve     run the KEDA external scaler (gRPC) with /metrics, /healthz, /readyz
  explain   read one trigger now and show the sample, the metric sent and the
            HPA model's next replica count with the rule that decides it
  migrate   print a file's ScaledObjects with KEDA's built-in kafka, redis,
            redis-streams and prometheus triggers rewritten as Tide triggers
  version   print the version, revision and Go toolchain

Run "scaler <command> -h" for a command's flags. Every flag can also be set
from the environment as TIDE_<FLAG>, e.g. TIDE_GRPC_ADDR for --grpc-addr.
The demo is a command of its own: go run ./cmd/tide-demo

` + cli.ExitCodesHelp

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.Usage(errors.New("no command given"))
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr)
	case "explain":
		return cli.Explain(ctx, rest, getenv, stdout, stderr, cli.ExplainHooks{})
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		printVersion(stdout, version.Get())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		return cli.Usage(fmt.Errorf("unknown command %q", cmd))
	}
}

// printVersion writes the build: the version on the first line, then the
// revision, its commit time and the Go toolchain.
func printVersion(w io.Writer, in version.Info) {
	fmt.Fprintln(w, "tide scaler", in.Version)
	fmt.Fprintln(w, "  revision:", in.Revision)
	if in.CommitTime != "" {
		fmt.Fprintln(w, "  committed:", in.CommitTime)
	}
	fmt.Fprintln(w, "  go:", in.GoVersion)
}
