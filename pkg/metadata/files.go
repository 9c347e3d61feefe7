package metadata

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// MaxSecretFile is the largest file a ...File key may name. Certificates
// and tokens are a few KiB; the cap keeps one trigger from costing memory.
const MaxSecretFile = 64 << 10

// Files is the operator's policy for ...File keys: which directories
// triggers may read, and how an operator widens it. Tenants write the
// paths, so a read stays beneath a listed directory (symbolic links are
// followed only while they stay beneath it), opens only regular files and
// reads at most MaxSecretFile bytes. A nil *Files reads no file at all.
type Files struct {
	dirs []string
	// enable tells a tenant how the operator turns file reads on; it is
	// part of the error when no directory allows a path.
	enable string
}

// NewFiles checks that every dir exists and is a directory. enable is
// shown in errors when a path is outside every dir.
func NewFiles(dirs []string, enable string) (*Files, error) {
	f := &Files{enable: enable}
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			return nil, fmt.Errorf("secret directory %q: must be an absolute path", d)
		}
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("secret directory %q: %w", d, unwrapPathError(err))
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("secret directory %q: is not a directory", d)
		}
		f.dirs = append(f.dirs, filepath.Clean(d))
	}
	return f, nil
}

// Dirs are the directories ...File keys may read.
func (f *Files) Dirs() []string {
	if f == nil {
		return nil
	}
	return f.dirs
}

// Secret returns a credential from key, keyFromEnv, or the file named by
// keyFile, in that order; "" when none is set. The error never holds the
// secret, only the file name.
func (f *Files) Secret(md Metadata, key string) (string, error) {
	if v := md[key]; v != "" {
		return v, nil
	}
	if v := md[key+"FromEnv"]; v != "" {
		return v, nil
	}
	if path := strings.TrimSpace(md[key+"File"]); path != "" {
		b, err := f.read(path)
		if err != nil {
			return "", Invalid(key+"File", path, "%v", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", nil
}

// read opens path beneath the directory that holds it, without blocking
// (a FIFO would wait for a writer), and reads a regular file of at most
// MaxSecretFile bytes.
func (f *Files) read(path string) ([]byte, error) {
	if !filepath.IsAbs(path) {
		return nil, errors.New("must be an absolute path")
	}
	dir, rel, ok := f.locate(filepath.Clean(path))
	if !ok {
		if len(f.Dirs()) == 0 {
			return nil, fmt.Errorf("this scaler reads no secret files (%s)", f.enableHint())
		}
		return nil, fmt.Errorf("is outside the directories this scaler reads secrets from (%s)", strings.Join(f.dirs, ", "))
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPathError(err))
	}
	defer root.Close()
	file, err := root.OpenFile(rel, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %v", unwrapPathError(err))
	}
	defer file.Close()
	st, err := file.Stat()
	switch {
	case err != nil:
		return nil, fmt.Errorf("cannot read: %v", unwrapPathError(err))
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("is not a regular file (%s)", fileType(st.Mode()))
	case st.Size() > MaxSecretFile:
		return nil, fmt.Errorf("is %d bytes, more than the %d a secret file may hold", st.Size(), MaxSecretFile)
	}
	// The size can change after Stat; the limit holds regardless.
	b, err := io.ReadAll(io.LimitReader(file, MaxSecretFile+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("cannot read: %v", unwrapPathError(err))
	case len(b) > MaxSecretFile:
		return nil, fmt.Errorf("holds more than the %d bytes a secret file may hold", MaxSecretFile)
	}
	return b, nil
}

// locate finds the listed directory path lies beneath, lexically; the
// Root then keeps symbolic links from leaving it.
func (f *Files) locate(path string) (dir, rel string, ok bool) {
	for _, d := range f.Dirs() {
		r, err := filepath.Rel(d, path)
		if err == nil && r != "." && r != ".." && !strings.HasPrefix(r, "../") {
			return d, r, true
		}
	}
	return "", "", false
}

func (f *Files) enableHint() string {
	if f == nil || f.enable == "" {
		return "its operator has listed no secret directory"
	}
	return f.enable
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}
