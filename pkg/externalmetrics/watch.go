package externalmetrics

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tide-scaler/tide/pkg/server"
)

// DefaultReloadInterval is how often Serve checks the config file. A
// mounted ConfigMap changes on the kubelet's sync period (about a minute),
// so a few seconds adds little to that.
const DefaultReloadInterval = 5 * time.Second

// ConfigFile is a configuration loaded from a file and kept current: each
// Reload that finds new, valid content swaps it in atomically; invalid
// content leaves the previous configuration serving.
//
// In Kubernetes the file is a ConfigMap mounted as a volume (not with
// subPath, whose files the kubelet never updates). The kubelet replaces
// the file by swapping a symlink, so the content is compared rather than
// watched with inotify, which would follow the old inode.
type ConfigFile struct {
	path    string
	parsers map[string]server.Parser
	log     *slog.Logger

	cur atomic.Pointer[Config]

	mu      sync.Mutex // serializes Reload
	seen    [sha256.Size]byte
	lastErr string // the read error last logged, so a broken file is logged once
}

// OpenConfigFile loads path; unlike a reload, a first load that fails is
// an error, since there is nothing to fall back on.
func OpenConfigFile(path string, parsers map[string]server.Parser, log *slog.Logger) (*ConfigFile, error) {
	if log == nil {
		log = slog.Default()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data, parsers)
	if err != nil {
		return nil, &loadError{path: path, err: err}
	}
	f := &ConfigFile{path: path, parsers: parsers, log: log, seen: sha256.Sum256(data)}
	f.cur.Store(c)
	return f, nil
}

type loadError struct {
	path string
	err  error
}

func (e *loadError) Error() string { return e.path + ": " + e.err.Error() }
func (e *loadError) Unwrap() error { return e.err }

// Current is the configuration in force. Callers must not modify it.
func (f *ConfigFile) Current() *Config { return f.cur.Load() }

// Reload reads the file once. It reports whether a new configuration was
// swapped in; an error means the file could not be read or is invalid, and
// the previous configuration stays. Each distinct failure is logged once,
// not on every poll.
func (f *ConfigFile) Reload() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if err != nil {
		if msg := err.Error(); msg != f.lastErr {
			f.lastErr = msg
			f.log.Error("cannot read external metrics config; keeping the previous one", "file", f.path, "err", err)
		}
		return false, err
	}
	f.lastErr = ""
	sum := sha256.Sum256(data)
	if sum == f.seen {
		return false, nil // unchanged, or the same bad content already reported
	}
	f.seen = sum
	c, err := ParseConfig(data, f.parsers)
	if err != nil {
		f.log.Error("invalid external metrics config; keeping the previous one", "file", f.path, "err", err)
		return false, &loadError{path: f.path, err: err}
	}
	carryOver(f.cur.Load(), c)
	f.cur.Store(c)
	f.log.Info("external metrics config reloaded", "file", f.path, "triggers", len(c.Triggers))
	return true, nil
}

// carryOver keeps the parsed trigger (and so its activation state) of each
// trigger whose name and metadata did not change, so that editing one
// trigger does not reset the others' hysteresis and minimum active time.
func carryOver(old, c *Config) {
	if old == nil {
		return
	}
	prev := make(map[string]*Trigger, len(old.Triggers))
	for i := range old.Triggers {
		prev[old.Triggers[i].Name] = &old.Triggers[i]
	}
	for i := range c.Triggers {
		t := &c.Triggers[i]
		if o, ok := prev[t.Name]; ok && o.parsed != nil && maps.Equal(o.Metadata, t.Metadata) {
			t.parsed = o.parsed
		}
	}
}

// Watch reloads on every tick until ctx ends. Ticks are injected so tests
// drive it without sleeping; Serve passes a time.Ticker's channel.
func (f *ConfigFile) Watch(ctx context.Context, ticks <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			f.Reload() //nolint:errcheck // logged by Reload; the old config keeps serving
		}
	}
}
