// Command bench-serving replays the serving traces under every policy and
// prints the table and the goals check (make bench-serving).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tide-scaler/tide/benchmarks/serving"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-serving:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench-serving", flag.ContinueOnError)
	traces := fs.String("traces", "serving/traces", "directory of the trace files (*.json)")
	out := fs.String("out", "", "also write results.txt and series-<trace>.svg into this directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("unexpected arguments")
	}
	trs, err := serving.Load(*traces)
	if err != nil {
		return err
	}
	if len(trs) == 0 {
		return fmt.Errorf("no traces in %s", *traces)
	}
	outs, err := serving.RunAll(trs)
	if err != nil {
		return err
	}
	files, err := serving.Files(trs, outs)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(files["results.txt"]); err != nil {
		return err
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
