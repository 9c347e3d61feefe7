package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tide-scaler/tide/benchmarks/quality"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench-quality:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench-quality", flag.ContinueOnError)
	trace := fs.String("trace", "", "replay this trace file only (default: every *.json in -traces)")
	traces := fs.String("traces", "quality/traces", "directory of the committed traces")
	out := fs.String("out", "", "write results.txt and the SVG plots into this directory")
	demoRun := fs.String("demo-run", "", "convert the output of go run ./cmd/tide-demo into a trace file on stdout, and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return errors.New("unexpected arguments; use -trace path")
	}
	if *demoRun != "" {
		return convertDemo(*demoRun, stdout)
	}
	var paths []string
	if *trace != "" {
		paths = []string{*trace}
	} else {
		var err error
		if paths, err = quality.TraceFiles(*traces); err != nil {
			return err
		}
	}
	rep, err := quality.Evaluate(paths, quality.Policies())
	if err != nil {
		return err
	}
	if _, err := io.WriteString(stdout, rep.Text()); err != nil {
		return err
	}
	if *out != "" {
		return rep.Write(*out)
	}
	return nil
}

// convertDemo writes the trace recorded in a demo run's output.
func convertDemo(path string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := quality.ParseDemoRun(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b, err := d.TraceJSON()
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}
