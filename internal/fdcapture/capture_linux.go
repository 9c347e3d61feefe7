//go:build linux

package fdcapture

import (
	"bytes"
	"io"
	"os"
	"syscall"
)

// Supported reports whether Stderr captures on this platform.
const Supported = true

// Stderr redirects fd 2 into a pipe until the returned stop is called; stop
// restores fd 2, copies what was captured to it (so nothing is hidden from
// the test log) and returns the captured text.
func Stderr() (stop func() string, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		syscall.Close(saved)
		r.Close()
		w.Close()
		return nil, err
	}
	var buf bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&buf, r)
	}()
	return func() string {
		_ = syscall.Dup3(saved, 2, 0) // drops the pipe's write end held by fd 2
		_ = syscall.Close(saved)
		_ = w.Close()
		<-copied
		_ = r.Close()
		_, _ = os.Stderr.Write(buf.Bytes())
		return buf.String()
	}, nil
}
