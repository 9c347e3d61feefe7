package scalercmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tide-scaler/tide/internal/cli"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/migrate"
)

const migrateSynopsis = `usage: scaler migrate --file so.yaml [flags]

Prints the ScaledObjects of a (multi-document) YAML file with their built-in
kafka, redis, redis-streams and prometheus triggers rewritten as Tide
triggers; other documents are skipped. What changes in meaning and what was
dropped goes to stderr; a key Tide cannot honour is exit code 3, after the
rest is printed. The README's migration table lists every key.

` + cli.ExitCodesHelp

// runMigrate is the migrate command.
func runMigrate(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	file := fs.String("file", "", "YAML file holding one or more ScaledObjects (other documents are skipped)")
	name := fs.String("name", "", "convert only the ScaledObject of this name (default: all of them)")
	addr := fs.String("scaler-address", "tide.tide-system.svc.cluster.local:9090", "scalerAddress of the converted triggers: Tide's gRPC Service")
	push := fs.Bool("push", true, "make converted triggers external-push (Tide streams activation changes); false: external")
	auth := fs.String("tide-auth", "tide-ca", "name of the ClusterTriggerAuthentication holding the CA of Tide's TLS, for the converted triggers' authenticationRef (empty: none)")
	if err := cli.ParseFlags(fs, args, getenv, stdout, migrateSynopsis); err != nil {
		return err
	}
	if *file == "" {
		return cli.Usage(errors.New("--file is required"))
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("--file: %w", err)
	}
	docs, _, err := migrate.ScaledObjects(b)
	if err != nil {
		return fmt.Errorf("--file %s: %w", *file, err)
	}
	if *name != "" || len(docs) == 0 {
		d, err := migrate.Pick(docs, *name)
		if err != nil {
			return cli.Usage(fmt.Errorf("--file %s: %w (--name)", *file, err))
		}
		docs = []migrate.Document{d}
	}
	target := migrate.Target{ScalerAddress: *addr, Push: *push}
	if *auth != "" {
		target.AuthRef = map[string]any{"name": *auth, "kind": "ClusterTriggerAuthentication"}
	}
	var problems []string
	for i, d := range docs {
		rep := d.Rewrite(target)
		out, err := d.YAML()
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(stdout, "---")
		}
		fmt.Fprintf(stdout, "# converted by scaler migrate: %d trigger(s)\n%s", rep.Converted, out)
		for _, n := range rep.Notes {
			fmt.Fprintln(stderr, "note:", n)
		}
		for _, p := range rep.Problems {
			fmt.Fprintln(stderr, "cannot convert:", p)
		}
		problems = append(problems, rep.Problems...)
	}
	if len(problems) > 0 {
		// An invalid trigger (exit 3), as Tide would refuse or misread it.
		return cli.TriggerError(&metadata.ConfigError{Key: "triggers", Reason: fmt.Sprintf("%d cannot be converted (above)", len(problems))})
	}
	return nil
}
