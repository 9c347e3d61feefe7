// Package scalercmd is the scaler's command line, shared by its two
// binaries:
//
//	scaler        serve (KEDA mode), migrate, version; links no Kubernetes
//	              client, so an idle serve stays small (benchmarks/README.md)
//	scaler-kube   the same commands plus what needs the Kubernetes client
//	              stack: explain, and serve with --hpa-awareness,
//	              --inference-discovery, --push-peers-service or
//	              --external-metrics-config
//
// The lean binary hands those to scaler-kube, installed beside it, by
// exec'ing it with the same arguments, so `scaler serve --hpa-awareness`
// and `scaler explain` work from either binary (Main, Handoff).
//
//	scaler serve     run the gRPC external scaler and its HTTP endpoints
//	scaler explain   show what the scaler makes of one trigger and what the HPA does with it
//	scaler migrate   rewrite KEDA's built-in kafka, redis, redis-streams and prometheus triggers as Tide triggers
//	scaler version   print the version, revision and Go toolchain
//
// The demo is its own command (cmd/tide-demo), so neither binary links demo
// machinery. It imports internal/app and internal/cli, never
// internal/app/kubeapp or internal/explaincmd: those come in through Kube.
package scalercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/internal/version"
	"github.com/tide-scaler/tide/pkg/server"
)

// Kube is what scaler-kube adds to the command line; the lean scaler has
// none (nil) and hands the commands that need it to scaler-kube.
type Kube struct {
	// Serve runs serve with the Kubernetes features kc turns on
	// (kubeapp.Run).
	Serve func(ctx context.Context, cfg app.Config, kc app.KubeConfig, log *slog.Logger, started func(*server.Server)) error
	// Explain runs the explain command (explaincmd.Explain).
	Explain func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// Main runs the command line of os.Args with k and exits; without k, a
// command that needs the Kubernetes client execs scaler-kube beside this
// executable with the same arguments.
func Main(k *Kube) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, k)
	if h := (*Handoff)(nil); errors.As(err, &h) {
		stop()
		err = h.Exec(os.Args[1:])
	}
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
explain, and serve with --hpa-awareness, --inference-discovery,
--push-peers-service or --external-metrics-config, need the Kubernetes
client: scaler runs them by exec'ing scaler-kube, installed beside it.
The demo is a command of its own: go run ./cmd/tide-demo

` + cli.ExitCodesHelp

// Run runs one command. Without k (the lean binary), a command that needs
// the Kubernetes client returns a *Handoff, which Main execs.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, k *Kube) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return cli.Usage(errors.New("no command given"))
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stdout, stderr, k)
	case "explain":
		if k == nil {
			return &Handoff{Reason: "explain"}
		}
		return k.Explain(ctx, rest, getenv, stdout, stderr)
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
