// Command scaler is Tide: a KEDA external scaler that serves Kafka
// consumer-group lag (and, later, Redis and inference demand) from a shared
// background poller.
//
//	scaler serve     run the gRPC external scaler and its HTTP endpoints
//	scaler demo      run an in-process Kafka, the scaler and a simulated fleet
//	scaler explain   show what the scaler makes of one trigger and what the HPA does with it
//	scaler version   print the version
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
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "scaler:", err)
		}
		os.Exit(2)
	}
}

const usage = `usage: scaler <command> [flags]

commands:
  serve     run the KEDA external scaler (gRPC) with /metrics, /healthz, /readyz
  demo      run an embedded Kafka, the scaler and a simulated consumer fleet
  explain   read one trigger now and show the sample, the metric sent and the
            HPA model's next replica count with the rule that decides it
  version   print the version

Run "scaler <command> -h" for a command's flags. Every flag can also be set
from the environment as TIDE_<FLAG>, e.g. TIDE_GRPC_ADDR for --grpc-addr.
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stderr)
	case "demo":
		return runDemo(ctx, rest, getenv, stdout, stderr)
	case "explain":
		return runExplain(ctx, rest, getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "tide scaler", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}
