package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const (
	testVersion  = "v9.9.9-imagetest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
)

var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// TestImage builds the real image for both platforms (one cross build per
// arch, cached by the Go build cache) and checks the OCI layout: the index's
// platforms, each config, each layer's files and the binary's ELF machine,
// and runs the amd64 binary when the host can.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles the scaler twice and builds the image")
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	args := []string{"-out", out, "-version", testVersion, "-revision", testRevision, "-tarballs"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("build: %v\n%s", err, stderr.String())
	}
	t.Log(stdout.String())

	p, err := layout.FromPath(filepath.Join(out, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			t.Fatalf("manifest %s has no platform", d.Digest)
		}
		plats = append(plats, d.Platform.String())
	}
	slices.Sort(plats)
	if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(plats, want) {
		t.Fatalf("index platforms %v, want %v", plats, want)
	}
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		t.Run(d.Platform.Architecture, func(t *testing.T) {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			checkConfig(t, img, d.Platform)
			bins := checkFiles(t, img, ca)
			for _, b := range binaries {
				checkELF(t, bins[b.path], d.Platform.Architecture)
			}
			runVersion(t, bins, d.Platform.Architecture)
			checkTarball(t, filepath.Join(out, "scaler-linux-"+d.Platform.Architecture+".tar"), img)
			size := int64(0)
			layers, _ := img.Layers()
			for _, l := range layers {
				n, _ := l.Size()
				size += n
			}
			t.Logf("%s: %d bytes in compressed layers", d.Platform, size)
		})
	}
}

func checkConfig(t *testing.T, img v1.Image, plat *v1.Platform) {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != plat.OS || cf.Architecture != plat.Architecture {
		t.Errorf("config platform %s/%s, index says %s", cf.OS, cf.Architecture, plat)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("User %q, want 65532:65532", c.User)
	}
	if !reflect.DeepEqual(c.Entrypoint, []string{"/scaler"}) || !reflect.DeepEqual(c.Cmd, []string{"serve"}) {
		t.Errorf("Entrypoint %q Cmd %q, want [/scaler] [serve]", c.Entrypoint, c.Cmd)
	}
	if c.WorkingDir != "/" {
		t.Errorf("WorkingDir %q", c.WorkingDir)
	}
	want := map[string]string{
		"org.opencontainers.image.source":   "https://github.com/tide-scaler/tide",
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.licenses": "Apache-2.0",
	}
	for k, v := range want {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
}

// checkFiles reads the image's flattened filesystem: only /scaler and
// /scaler-kube (0755, owned 65532) and, if the host has one, the CA bundle,
// besides their directories. It returns the binaries by path.
func checkFiles(t *testing.T, img v1.Image, ca []byte) map[string][]byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var files []string
	bins := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			t.Errorf("%s: type %c, want only regular files (no links, no shell)", h.Name, h.Typeflag)
		}
		files = append(files, h.Name)
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		switch h.Name {
		case BinaryPath, KubeBinaryPath:
			bins[h.Name] = data
			if h.Mode&0o7777 != 0o755 || h.Uid != NonRoot || h.Gid != NonRoot {
				t.Errorf("/%s mode %o uid %d gid %d, want 755 65532 65532", h.Name, h.Mode, h.Uid, h.Gid)
			}
		case CAPath:
			if !bytes.Equal(data, ca) {
				t.Errorf("CA bundle differs from the host's (%d vs %d bytes)", len(data), len(ca))
			}
		}
	}
	slices.Sort(files)
	want := []string{BinaryPath, KubeBinaryPath}
	if ca != nil {
		want = []string{CAPath, BinaryPath, KubeBinaryPath}
	}
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	return bins
}

func checkELF(t *testing.T, bin []byte, arch string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != machines[arch] {
		t.Errorf("ELF machine %v, want %v for %s", f.Machine, machines[arch], arch)
	}
	if f.Section(".interp") != nil {
		t.Error("binary has an ELF interpreter: not statically linked")
	}
}

// qemuUser is Debian's qemu-user-static emulator per foreign architecture
// (scripts/deps.sh image installs it).
var qemuUser = map[string]string{"amd64": "qemu-x86_64-static", "arm64": "qemu-aarch64-static"}

// runVersion runs the extracted binaries, natively or, for the other
// architecture, under qemu user-mode emulation: `version` of each prints
// the version the builder stamped in. Natively, `scaler explain -h` also
// runs explain by exec'ing scaler-kube from the same directory, as in the
// image.
func runVersion(t *testing.T, bins map[string][]byte, arch string) {
	t.Helper()
	dir := t.TempDir()
	for name, bin := range bins {
		if err := os.WriteFile(filepath.Join(dir, name), bin, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	native := arch == runtime.GOARCH && runtime.GOOS == "linux"
	for name := range bins {
		path := filepath.Join(dir, name)
		cmd := exec.Command(path, "version")
		if !native {
			emu, err := exec.LookPath(qemuUser[arch])
			if err != nil {
				if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
					t.Fatalf("cannot run the %s binary: %v (scripts/deps.sh image installs qemu-user-static)", arch, err)
				}
				t.Skipf("cannot run the %s binary: %v (scripts/deps.sh image installs qemu-user-static)", arch, err)
			}
			cmd = exec.Command(emu, path, "version")
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", name, err, out)
		}
		// The binary is stamped with the image's version and revision.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if lines[0] != "tide scaler "+testVersion || !strings.Contains(string(out), "revision: "+testRevision) {
			t.Errorf("%s version printed %q; want version %s and revision %s", name, out, testVersion, testRevision)
		}
	}
	if native {
		out, err := exec.Command(filepath.Join(dir, BinaryPath), "explain", "-h").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "usage: scaler explain") {
			t.Errorf("scaler explain -h (exec'ing scaler-kube): %v\n%s", err, out)
		}
	}
}

// checkTarball loads the docker-archive and compares its config and
// layers with the layout's image.
func checkTarball(t *testing.T, path string, img v1.Image) {
	t.Helper()
	tb, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigName()
	if got, err := tb.ConfigName(); err != nil || got != want {
		t.Errorf("tarball config %v (%v), want %v", got, err, want)
	}
	wl, _ := img.Layers()
	gl, err := tb.Layers()
	if err != nil || len(gl) != len(wl) {
		t.Fatalf("tarball layers %d (%v), want %d", len(gl), err, len(wl))
	}
	for i := range wl {
		w, _ := wl[i].Digest()
		if g, _ := gl[i].Digest(); g != w {
			t.Errorf("tarball layer %d %v, want %v", i, g, w)
		}
	}
}
