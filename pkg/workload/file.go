package workload

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tide-scaler/tide/pkg/trigger"
)

// DefaultReloadInterval is a sensible period for File.Watch's ticks. A
// mounted ConfigMap changes on the kubelet's sync period (about a minute),
// so a few seconds adds little to that.
const DefaultReloadInterval = 5 * time.Second

// Options tune a File. The zero value is usable.
type Options struct {
	// Now marks the held triggers used; nil is time.Now.
	Now func() time.Time
	// Logger receives Watch's line per reload and per distinct failure;
	// nil is slog.Default().
	Logger *slog.Logger
}

// File is a configuration loaded from a file and kept current: each
// Reload that finds new, valid content swaps it in atomically; invalid
// content leaves the previous configuration in force. Every entry of the
// current configuration holds its trigger in the cache (Cache.Hold), so
// the external metrics API, standalone and the gRPC face share one
// instance, and with it one activation latch, per distinct metadata. An
// entry whose metadata does not change keeps its instance across reloads.
//
// In Kubernetes the file is a ConfigMap mounted as a volume (not with
// subPath, whose files the kubelet never updates). The kubelet replaces
// the file by swapping a symlink, so the content is compared rather than
// watched with inotify, which would follow the old inode.
type File struct {
	path  string
	cache *trigger.Cache
	now   func() time.Time
	log   *slog.Logger

	cur atomic.Pointer[Config]

	mu       sync.Mutex // serializes Reload and Close
	seen     [sha256.Size]byte
	releases []func() // the holds of cur's triggers
}

// Open loads path, holding each entry's trigger in cache; unlike a reload,
// a first load that fails is an error, since there is nothing to fall back
// on. The error names the file and, for an invalid one, every bad field.
func Open(path string, cache *trigger.Cache, o Options) (*File, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := &File{path: path, cache: cache, now: o.Now, log: o.Logger, seen: sha256.Sum256(data)}
	c, releases, _, err := f.load(data)
	if err != nil {
		return nil, err
	}
	f.cur.Store(c)
	f.releases = releases
	return f, nil
}

type loadError struct {
	path string
	err  error
}

func (e *loadError) Error() string { return e.path + ": " + e.err.Error() }
func (e *loadError) Unwrap() error { return e.err }

// load decodes and validates data, binding each entry to its held trigger;
// on failure it holds nothing. limited says that the cache refused a
// trigger for its size limit, which may lift: the content is worth trying
// again.
func (f *File) load(data []byte) (c *Config, releases []func(), limited bool, err error) {
	if c, err = decode(data); err != nil {
		return nil, nil, false, &loadError{path: f.path, err: err}
	}
	now := f.now()
	err = c.validate(func(md map[string]string) (*trigger.Trigger, error) {
		t, release, err := f.cache.Hold(md, now)
		if err == nil {
			releases = append(releases, release)
		}
		var le *trigger.LimitError
		limited = limited || errors.As(err, &le)
		return t, err
	})
	if err != nil {
		for _, r := range releases {
			r()
		}
		return nil, nil, limited, &loadError{path: f.path, err: err}
	}
	return c, releases, false, nil
}

// Current is the configuration in force. Callers must not modify it.
func (f *File) Current() *Config { return f.cur.Load() }

// Reload reads the file once. It reports whether a new configuration was
// swapped in; an error means the file could not be read or is invalid, and
// the previous configuration stays. Content already rejected is not parsed
// again until it changes (unless the cache's size limit refused it, which
// may lift): Reload then returns false and no error.
func (f *File) Reload() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	data, err := os.ReadFile(f.path)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(data)
	if sum == f.seen {
		return false, nil
	}
	c, releases, limited, err := f.load(data)
	if err != nil {
		if !limited {
			f.seen = sum
		}
		return false, err
	}
	f.seen = sum
	// The new holds are taken before the old are released, so an entry
	// that stays keeps its trigger; only those of gone entries go.
	old := f.releases
	f.cur.Store(c)
	f.releases = releases
	for _, r := range old {
		r()
	}
	return true, nil
}

// Watch reloads on every tick until ctx ends, logging each reload and
// each distinct failure once (the previous configuration stays in force).
// Ticks are injected so tests drive it without sleeping; the process
// passes a time.Ticker's channel.
func (f *File) Watch(ctx context.Context, ticks <-chan time.Time) {
	var last string
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
		}
		switch ok, err := f.Reload(); {
		case err != nil && err.Error() != last:
			last = err.Error()
			f.log.Error("cannot load workload file; keeping the previous configuration", "file", f.path, "err", err)
		case err == nil:
			last = ""
			if ok {
				f.log.Info("workload file reloaded", "file", f.path, "triggers", len(f.Current().Workloads))
			}
		}
	}
}

// Close releases the holds of the current configuration's triggers, so
// the cache may drop them once idle. Current still answers afterwards.
func (f *File) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.releases {
		r()
	}
	f.releases = nil
}
