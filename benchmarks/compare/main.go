package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// KEDA's scalers log through controller-runtime; the operator runs them
	// at info level, where their per-observation messages (V(1) and up) are
	// not written. Discarding everything keeps the drivers' output to JSON.
	ctrllog.SetLogger(logr.Discard())
	if err := dispatch(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func dispatch(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: compare run|broker|drive|cases|activation|report|floor [flags]")
	}
	cmds := map[string]func(context.Context, []string) error{
		"run":        runCmd,
		"broker":     brokerCmd,
		"drive":      driveCmd,
		"cases":      casesCmd,
		"activation": activationCmd,
		"report":     reportCmd,
		"floor":      floorCmd,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q (want run, broker, drive, cases, activation, report or floor)", args[0])
	}
	return cmd(ctx, args[1:])
}
