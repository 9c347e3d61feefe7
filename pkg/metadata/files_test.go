package metadata

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// secretDir lays out a directory as a Kubernetes secret volume does
// (password -> ..data/password, ..data -> ..2026_12_06), plus the files
// and links a tenant might aim at.
func secretDir(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	dir, outside := filepath.Join(base, "secrets"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(dir, "..2026_12_06"), outside} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "..2026_12_06", "password"), []byte("s3cret\n"))
	write(filepath.Join(outside, "token"), []byte("sa-token"))
	write(filepath.Join(dir, "max"), []byte(strings.Repeat("a", MaxSecretFile)))
	write(filepath.Join(dir, "big"), []byte(strings.Repeat("a", MaxSecretFile+1)))
	link("..2026_12_06", "..data")
	link("..data/password", "password")
	link("../outside/token", "escape-relative")
	link("/proc/self/environ", "escape-absolute")
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFilesSecret(t *testing.T) {
	dir := secretDir(t)
	files, err := NewFiles([]string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	dev, err := NewFiles([]string{"/dev", "/proc"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		files  *Files
		path   string
		want   string // the secret read, when no error
		reason string // in the error otherwise
	}{
		{"secret volume layout", files, filepath.Join(dir, "password"), "s3cret", ""},
		{"exactly the cap", files, filepath.Join(dir, "max"), strings.Repeat("a", MaxSecretFile), ""},
		{"no directory listed", nil, filepath.Join(dir, "password"), "", "reads no secret files (its operator has listed no secret directory)"},
		{"service-account token", files, "/var/run/secrets/kubernetes.io/serviceaccount/token", "", "is outside the directories"},
		{"process environment", files, "/proc/self/environ", "", "is outside the directories"},
		{"device", files, "/dev/zero", "", "is outside the directories"},
		{"dot-dot out of the directory", files, filepath.Join(dir, "..", "outside", "token"), "", "is outside the directories"},
		{"the directory's parent by prefix", files, dir + "-other/x", "", "is outside the directories"},
		{"relative path", files, "password", "", "must be an absolute path"},
		{"relative symlink out", files, filepath.Join(dir, "escape-relative"), "", "cannot read"},
		{"absolute symlink out", files, filepath.Join(dir, "escape-absolute"), "", "cannot read"},
		{"oversized", files, filepath.Join(dir, "big"), "", "more than the 65536 a secret file may hold"},
		{"named pipe", files, filepath.Join(dir, "fifo"), "", "is not a regular file (a named pipe)"},
		{"directory", files, filepath.Join(dir, "subdir"), "", "is not a regular file (a directory)"},
		{"the directory itself", files, dir, "", "is outside the directories"},
		{"missing", files, filepath.Join(dir, "nope"), "", "cannot read"},
		{"device in a listed directory", dev, "/dev/zero", "", "is not a regular file (a device)"},
		{"/dev/urandom in a listed directory", dev, "/dev/urandom", "", "is not a regular file (a device)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.files.Secret(Metadata{"passwordFile": tc.path}, "password")
			if tc.reason == "" {
				if err != nil || got != tc.want {
					t.Fatalf("Secret = %.20q, %v; want %.20q", got, err, tc.want)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != "passwordFile" || ce.Value != tc.path || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Secret(%q) = %.20q, %v; want a ConfigError on passwordFile naming the path and %q", tc.path, got, err, tc.reason)
			}
			if strings.Contains(err.Error(), "sa-token") || strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error holds file contents: %v", err)
			}
		})
	}
}

func TestFilesSecretOrder(t *testing.T) {
	dir := secretDir(t)
	files, err := NewFiles([]string{dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "password")
	for _, tc := range []struct {
		md   Metadata
		want string
	}{
		{Metadata{"password": "inline", "passwordFromEnv": "env", "passwordFile": file}, "inline"},
		{Metadata{"passwordFromEnv": "env", "passwordFile": file}, "env"},
		{Metadata{"passwordFile": " " + file + " "}, "s3cret"},
		{Metadata{}, ""},
	} {
		if got, err := files.Secret(tc.md, "password"); err != nil || got != tc.want {
			t.Errorf("%v: %q, %v; want %q", tc.md, got, err, tc.want)
		}
	}
}

func TestNewFilesErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"relative/dir", "/nonexistent-tide-dir", f} {
		if _, err := NewFiles([]string{d}, ""); err == nil || !strings.Contains(err.Error(), d) {
			t.Errorf("NewFiles(%q) = %v; want an error naming it", d, err)
		}
	}
	files, err := NewFiles(nil, "list one with --flag")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := files.Secret(Metadata{"caFile": "/x"}, "ca"); err == nil || !strings.Contains(err.Error(), "list one with --flag") {
		t.Errorf("the error does not say how to enable files: %v", err)
	}
}
