package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// NonRoot is the user and group the scaler runs as (distroless's nonroot).
const NonRoot = 65532

// Where the scaler, scaler-kube (exec'd by scaler for what needs the
// Kubernetes client) and the CA bundle sit in the image.
const (
	BinaryPath     = "scaler"
	KubeBinaryPath = "scaler-kube"
	CAPath         = "etc/ssl/certs/ca-certificates.crt"
)

// binaries are the commands built into the image, by path in the image.
var binaries = []struct{ path, pkg string }{{BinaryPath, "./cmd/scaler"}, {KubeBinaryPath, "./cmd/scaler-kube"}}

// Options say what to build and where to write it.
type Options struct {
	Root      string   // the repository root
	Out       string   // output directory
	Version   string   // internal/version's version and the version label
	Revision  string   // the revision label
	Repo      string   // repository for the tarballs' tags
	Source    string   // the source label
	CABundle  string   // host CA bundle to copy in, if it exists
	Go        string   // the go command
	Platforms []string // os/arch pairs
	Tarballs  bool     // also write docker-archive tarballs
	Created   time.Time
}

// Result is what Build wrote.
type Result struct {
	Layout    string // the OCI layout directory
	Platforms []PlatformResult
}

// PlatformResult describes one platform's image.
type PlatformResult struct {
	Platform string
	Digest   v1.Hash
	Size     int64  // manifest + config + compressed layers, as pulled
	Tarball  string // docker-archive path, if written
}

// Build cross-compiles the scaler per platform, builds an image from
// scratch for each and writes an OCI image index of them under o.Out/oci.
func Build(ctx context.Context, o Options) (Result, error) {
	var res Result
	tmp, err := os.MkdirTemp("", "tide-image-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	ca, err := caLayer(o.CABundle, o.Created)
	if err != nil {
		return res, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return res, err
		}
		dir := filepath.Join(tmp, plat.OS+"-"+plat.Architecture)
		for _, b := range binaries {
			if err := compile(ctx, o, plat, b.pkg, filepath.Join(dir, b.path)); err != nil {
				return res, err
			}
		}
		img, err := platformImage(o, plat, dir, ca)
		if err != nil {
			return res, fmt.Errorf("%s: %w", p, err)
		}
		pr, err := describe(p, img)
		if err != nil {
			return res, err
		}
		if o.Tarballs {
			if pr.Tarball, err = writeTarball(o, plat, img); err != nil {
				return res, err
			}
		}
		res.Platforms = append(res.Platforms, pr)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: plat},
		})
	}
	res.Layout = filepath.Join(o.Out, "oci")
	if err := os.RemoveAll(res.Layout); err != nil {
		return res, err
	}
	if _, err := layout.Write(res.Layout, idx); err != nil {
		return res, err
	}
	return res, nil
}

// The variables of internal/version the build stamps.
const (
	versionVar  = "github.com/tide-scaler/tide/internal/version.version"
	revisionVar = "github.com/tide-scaler/tide/internal/version.revision"
)

// compile cross-compiles the command pkg for plat into out.
func compile(ctx context.Context, o Options, plat *v1.Platform, pkg, out string) error {
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath",
		"-ldflags", "-s -w -X "+versionVar+"="+o.Version+" -X "+revisionVar+"="+o.Revision, "-o", out, pkg)
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+plat.OS, "GOARCH="+plat.Architecture)
	if plat.Variant != "" && plat.Architecture == "arm" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(plat.Variant, "v"))
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %w\n%s", pkg, plat.OS, plat.Architecture, err, b)
	}
	return nil
}

// platformImage builds the image for plat: the CA layer (if any), then the
// binaries' layer (from dir, by their paths), and the config that runs
// scaler as NonRoot.
func platformImage(o Options, plat *v1.Platform, dir string, ca v1.Layer) (v1.Image, error) {
	var files []file
	for _, b := range binaries {
		data, err := os.ReadFile(filepath.Join(dir, b.path))
		if err != nil {
			return nil, err
		}
		files = append(files, file{path: b.path, mode: 0o755, uid: NonRoot, data: data})
	}
	binLayer, err := layerOf(o.Created, files...)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var adds []mutate.Addendum
	if ca != nil {
		adds = append(adds, mutate.Addendum{Layer: ca, MediaType: types.OCILayer})
	}
	adds = append(adds, mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer})
	if img, err = mutate.Append(img, adds...); err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
	cf.Created = v1.Time{Time: o.Created}
	for i := range cf.History {
		cf.History[i].Created = cf.Created
	}
	cf.Config.User = fmt.Sprintf("%d:%d", NonRoot, NonRoot)
	cf.Config.Entrypoint = []string{"/" + BinaryPath}
	cf.Config.Cmd = []string{"serve"}
	cf.Config.WorkingDir = "/"
	cf.Config.Labels = Labels(o)
	if ca != nil {
		cf.Config.Env = []string{"SSL_CERT_FILE=/" + CAPath}
	}
	return mutate.ConfigFile(img, cf)
}

// Labels are the image's OCI annotations-as-labels.
func Labels(o Options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.source":   o.Source,
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.title":    "tide scaler",
	}
}

// caLayer is the host's CA bundle at CAPath, or nil when path is empty or
// does not exist.
func caLayer(path string, mtime time.Time) (v1.Layer, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return layerOf(mtime, file{path: CAPath, mode: 0o644, data: data})
}

// file is one regular file of a layer.
type file struct {
	path string
	mode int64
	uid  int
	data []byte
}

// layerOf is a gzip layer holding files and their parent directories
// (root-owned, 0755, each once), every entry stamped with mtime so the
// layer is reproducible.
func layerOf(mtime time.Time, files ...file) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	written := map[string]bool{}
	for _, f := range files {
		dirs := strings.Split(f.path, "/")
		for i := 1; i < len(dirs); i++ {
			name := strings.Join(dirs[:i], "/") + "/"
			if written[name] {
				continue
			}
			written[name] = true
			hdr := &tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode, Uid: f.uid, Gid: f.uid,
			Size: int64(len(f.data)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// describe sums what pulling img downloads.
func describe(p string, img v1.Image) (PlatformResult, error) {
	pr := PlatformResult{Platform: p}
	var err error
	if pr.Digest, err = img.Digest(); err != nil {
		return pr, err
	}
	m, err := img.Manifest()
	if err != nil {
		return pr, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return pr, err
	}
	pr.Size = int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		pr.Size += l.Size
	}
	return pr, nil
}

// writeTarball writes img as a docker-archive tagged repo:version.
func writeTarball(o Options, plat *v1.Platform, img v1.Image) (string, error) {
	tag, err := name.NewTag(o.Repo + ":" + o.Version + "-" + plat.Architecture)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(o.Out, "scaler-"+plat.OS+"-"+plat.Architecture+".tar")
	return path, tarball.WriteToFile(path, tag, img)
}
