// Command tide-demo runs Tide's demonstrations with nothing installed: the
// real scaler (internal/app, as `scaler serve` runs it) beside an embedded
// Kafka (kfake), an embedded Redis (miniredis) and simulated vLLM pods. It
// is its own command so that the production binary links no demo
// machinery.
//
//	tide-demo [run]   idle -> burst -> sustained -> drain -> idle, live, until every workload is back at zero
//	tide-demo explain `scaler explain` against an embedded Kafka with known lag
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
	"github.com/tide-scaler/tide/internal/demo"
	"github.com/tide-scaler/tide/internal/explaincmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "tide-demo:", err)
	}
	os.Exit(cli.ExitCode(err))
}

const usage = `usage: tide-demo [run|explain] [flags]

  run       (the default) an embedded Kafka, Redis and vLLM pool, the real
            scaler, producers running idle -> burst -> sustained -> drain ->
            idle, and fleets that follow KEDA and the HPA; exits at zero
  explain   scaler explain against an embedded Kafka (topic orders, 12
            partitions, group orders-consumer, lag 282); every explain flag
            applies

Run "tide-demo <command> -h" for a command's flags.

` + cli.ExitCodesHelp

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "run", args
	if len(args) > 0 && (args[0] == "run" || args[0] == "explain" || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "explain":
		return explaincmd.Explain(ctx, rest, getenv, stdout, stderr, explaincmd.ExplainHooks{Prepare: embeddedKafka})
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return runDemo(ctx, rest, getenv, stdout, stderr)
}

// embeddedKafka points the trigger at an embedded Kafka with known lag.
func embeddedKafka(ctx context.Context, md map[string]string, stdout io.Writer) (func(), error) {
	cluster, err := demo.StartExplainCluster(ctx, md)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "embedded Kafka at %v: topic orders, 12 partitions, group orders-consumer with known lag\n\n", cluster.ListenAddrs())
	return cluster.Close, nil
}
