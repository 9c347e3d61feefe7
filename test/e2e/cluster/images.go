package cluster

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// ScalerImage is the tag build/image gives the scaler's image in the
// tarball BuildScalerImage writes (repository:version-arch).
const ScalerImage = "ghcr.io/tide-scaler/tide:e2e-amd64"

// BuildScalerImage builds the scaler's image for linux/amd64 with the
// repository's own image builder (build/image, as `make image` does) and
// returns its docker-archive.
func BuildScalerImage(root, dir string) (string, error) {
	out := filepath.Join(dir, "image")
	cmd := exec.Command("go", "run", ".", "-root", root, "-out", out, "-tarballs",
		"-platforms", "linux/amd64", "-version", "e2e")
	cmd.Dir = filepath.Join(root, "build/image")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build/image: %w\n%s", err, b)
	}
	return filepath.Join(out, "scaler-linux-amd64.tar"), nil
}

// buildPauseImage compiles test/e2e/build/pause statically and writes it
// as a one-layer image tagged PauseImage to dir/pause.tar.
func buildPauseImage(dir string) (string, error) {
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "../build/pause")
	bin := filepath.Join(dir, "pause")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the pause binary: %w\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	if err := tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := tw.Write(b); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil
	})
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	tag, err := name.NewTag(PauseImage)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "pause.tar")
	return path, tarball.WriteToFile(path, tag, img)
}
