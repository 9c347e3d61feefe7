// Command image builds Tide's container image without a Docker daemon: it
// cross-compiles cmd/scaler and cmd/scaler-kube (which scaler execs for what
// needs the Kubernetes client) for linux/amd64 and linux/arm64 and writes an
// OCI image index holding both into an OCI layout directory (and, with
// -tarballs, one docker-archive tarball per platform for `docker load`).
//
//	cd build/image && go run . -out ../../_output/image
//
// The repo root's Dockerfile describes the same image for people with Docker.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	fs.StringVar(&o.Root, "root", "../..", "the Tide repository root (holds go.mod, cmd/scaler and cmd/scaler-kube)")
	fs.StringVar(&o.Out, "out", "../../_output/image", "output directory: oci/ (the OCI layout) and, with -tarballs, scaler-<arch>.tar")
	fs.StringVar(&o.Version, "version", "", "image version label and the binary's version (default: git describe --tags --always --dirty)")
	fs.StringVar(&o.Revision, "revision", "", "image revision label (default: git rev-parse HEAD)")
	fs.StringVar(&o.Repo, "repo", "ghcr.io/tide-scaler/tide", "image repository named in the tarballs' tags")
	fs.StringVar(&o.Source, "source", "https://github.com/tide-scaler/tide", "org.opencontainers.image.source label")
	fs.StringVar(&o.CABundle, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA bundle copied into the image if it exists (empty: none)")
	fs.StringVar(&o.Go, "go", "go", "the go command used to cross-compile")
	fs.BoolVar(&o.Tarballs, "tarballs", false, "also write a docker-archive tarball per platform")
	archs := fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated platforms")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	o.Platforms = strings.Split(*archs, ",")
	var err error
	if o.Version == "" {
		if o.Version, err = git(ctx, o.Root, "describe", "--tags", "--always", "--dirty"); err != nil {
			return err
		}
	}
	if o.Revision == "" {
		if o.Revision, err = git(ctx, o.Root, "rev-parse", "HEAD"); err != nil {
			return err
		}
	}
	ct, err := git(ctx, o.Root, "log", "-1", "--format=%ct")
	if err != nil {
		return err
	}
	var secs int64
	if _, err := fmt.Sscan(ct, &secs); err != nil {
		return fmt.Errorf("commit time %q: %w", ct, err)
	}
	o.Created = time.Unix(secs, 0).UTC()
	res, err := Build(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (version %s, revision %s)\n", res.Layout, o.Version, o.Revision)
	for _, p := range res.Platforms {
		fmt.Fprintf(stdout, "  %-12s %s  %d bytes compressed\n", p.Platform, p.Digest, p.Size)
		if p.Tarball != "" {
			fmt.Fprintf(stdout, "  %-12s docker-archive %s\n", "", p.Tarball)
		}
	}
	return nil
}

// git runs git in dir and returns its trimmed output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
