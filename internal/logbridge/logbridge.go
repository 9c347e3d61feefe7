package logbridge

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-logr/logr"
	"github.com/redis/go-redis/v9"
	"k8s.io/klog/v2"
)

// Install points go-redis's and klog's process-global loggers at log; each
// record names its library in "logger" (klog's named loggers as
// "klog/<name>"). klog's own stderr writer is bypassed once a logger is
// set; its default logtostderr=true is kept, which stops klog.Fatal from
// dumping stacks to stderr. klog's warnings arrive as INFO: logr has no
// warning level.
func Install(log *slog.Logger) {
	redis.SetLogger(Redis{Logger: log.With("logger", "go-redis")})
	// klog.SetSlogLogger, but named: logr puts names in "logger" too.
	klog.SetLoggerWithOptions(logr.FromSlogHandler(log.Handler()).WithName("klog"), klog.ContextualLogger(true))
}

// Redis is go-redis's logger (redis.SetLogger) writing to Logger. go-redis
// has no levels; what it prints is about failures (dials, sentinels,
// pools), so each line is a warning.
type Redis struct{ Logger *slog.Logger }

// Printf logs the formatted line as one record.
func (r Redis) Printf(ctx context.Context, format string, v ...any) {
	r.Logger.Log(ctx, slog.LevelWarn, strings.TrimSpace(fmt.Sprintf(format, v...)))
}
