package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// TLSFiles names PEM files for serving TLS. With ClientCA set, clients must
// present a certificate signed by it (mTLS).
type TLSFiles struct {
	Cert, Key, ClientCA string
}

// Enabled reports whether any file is set.
func (f TLSFiles) Enabled() bool { return f.Cert != "" || f.Key != "" || f.ClientCA != "" }

// Config builds a tls.Config (minimum TLS 1.2, as KEDA's client requires).
// The key pair is re-read when its files change, so a rotated Secret is
// picked up without a restart. Every error is a *FileError naming the
// fields at fault; none quotes a file's contents.
func (f TLSFiles) Config() (*tls.Config, error) {
	if f.Cert == "" || f.Key == "" {
		return nil, &FileError{Fields: []string{"Cert", "Key"}, Paths: []string{f.Cert, f.Key}, together: true}
	}
	for _, c := range [][2]string{{"Cert", f.Cert}, {"Key", f.Key}, {"ClientCA", f.ClientCA}} {
		if c[1] == "" {
			continue
		}
		fh, err := os.Open(c[1])
		if err != nil {
			return nil, &FileError{Fields: []string{c[0]}, Err: err}
		}
		fh.Close()
	}
	kp := &keyPair{cert: f.Cert, key: f.Key}
	if _, err := kp.get(); err != nil {
		return nil, &FileError{Fields: []string{"Cert", "Key"}, Paths: []string{f.Cert, f.Key}, Err: err}
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return kp.get()
		},
	}
	if f.ClientCA != "" {
		pem, err := os.ReadFile(f.ClientCA)
		if err != nil {
			return nil, &FileError{Fields: []string{"ClientCA"}, Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &FileError{Fields: []string{"ClientCA"}, Paths: []string{f.ClientCA}, Err: errNoPEM}
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

var errNoPEM = errors.New("holds no PEM certificate")

// FileError is a TLSFiles setting that cannot be used. Fields names the
// TLSFiles fields at fault (Cert, Key, ClientCA); Paths, when set, their
// values, in the same order. Format names them as the caller knows them
// (cmd: its flags).
type FileError struct {
	Fields, Paths []string
	Err           error
	together      bool // Cert and Key must be given together
}

func (e *FileError) Error() string { return "tls: " + e.Format(func(f string) string { return f }) }

func (e *FileError) Unwrap() error { return e.Err }

// Format is the error with each field shown as name(field).
func (e *FileError) Format(name func(field string) string) string {
	if e.together {
		return fmt.Sprintf("%s and %s are needed together (got %s %q, %s %q)", name(e.Fields[0]), name(e.Fields[1]),
			name(e.Fields[0]), e.Paths[0], name(e.Fields[1]), e.Paths[1])
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = name(f)
		if i < len(e.Paths) {
			parts[i] += " " + e.Paths[i]
		}
	}
	if e.Err == errNoPEM {
		return strings.Join(parts, ", ") + " " + e.Err.Error()
	}
	return strings.Join(parts, ", ") + ": " + e.Err.Error()
}

// keyPair caches a certificate and reloads it when either file changes:
// another file behind the path (a Secret's symlink swap), another mtime or
// another size. A pair that does not load leaves the last good one served.
type keyPair struct {
	cert, key string

	mu     sync.Mutex
	loaded *tls.Certificate
	stamp  [2]os.FileInfo
}

// sameStamp reports whether a and b describe the same unchanged file.
func sameStamp(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var stamp [2]os.FileInfo
	for i, p := range []string{k.cert, k.key} {
		st, err := os.Stat(p)
		if err != nil {
			if k.loaded != nil {
				return k.loaded, nil // mid-rotation: keep serving the old pair
			}
			return nil, err
		}
		stamp[i] = st
	}
	if k.loaded != nil && sameStamp(stamp[0], k.stamp[0]) && sameStamp(stamp[1], k.stamp[1]) {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		return nil, err
	}
	k.loaded, k.stamp = &c, stamp
	return k.loaded, nil
}
