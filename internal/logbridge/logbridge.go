package logbridge

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
	"k8s.io/klog/v2"
)

// current is the logger the libraries' global loggers write to. The
// libraries' setters are not safe to call concurrently, so they are called
// once, with a handler that forwards to current; Install only swaps it.
var (
	current atomic.Pointer[slog.Logger]
	once    sync.Once
)

// Install points go-redis's and klog's process-global loggers at log; each
// record names its library in "logger" (klog's named loggers as
// "klog/<name>"). Safe to call from concurrent commands in one process (the
// last call wins). klog's own stderr writer is bypassed once a logger is
// set; its default logtostderr=true is kept, which stops klog.Fatal from
// dumping stacks to stderr. klog's warnings arrive as INFO: logr has no
// warning level.
func Install(log *slog.Logger) {
	current.Store(log)
	once.Do(func() {
		fwd := slog.New(forward{})
		redis.SetLogger(Redis{Logger: fwd.With("logger", "go-redis")})
		// klog.SetSlogLogger, but named: logr puts names in "logger" too.
		klog.SetLoggerWithOptions(logr.FromSlogHandler(fwd.Handler()).WithName("klog"), klog.ContextualLogger(true))
	})
}

// forward is a slog.Handler writing to current's handler, replaying the
// attributes and groups added to it.
type forward struct {
	ops []func(slog.Handler) slog.Handler
}

func (f forward) handler() slog.Handler {
	h := current.Load().Handler()
	for _, op := range f.ops {
		h = op(h)
	}
	return h
}

func (f forward) Enabled(ctx context.Context, l slog.Level) bool { return f.handler().Enabled(ctx, l) }

func (f forward) Handle(ctx context.Context, r slog.Record) error { return f.handler().Handle(ctx, r) }

func (f forward) WithAttrs(as []slog.Attr) slog.Handler {
	return f.with(func(h slog.Handler) slog.Handler { return h.WithAttrs(as) })
}

func (f forward) WithGroup(name string) slog.Handler {
	return f.with(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (f forward) with(op func(slog.Handler) slog.Handler) forward {
	return forward{ops: append(f.ops[:len(f.ops):len(f.ops)], op)}
}

// Redis is go-redis's logger (redis.SetLogger) writing to Logger. go-redis
// has no levels; what it prints is about failures (dials, sentinels,
// pools), so each line is a warning.
type Redis struct{ Logger *slog.Logger }

// Printf logs the formatted line as one record.
func (r Redis) Printf(ctx context.Context, format string, v ...any) {
	r.Logger.Log(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, v...)))
}
