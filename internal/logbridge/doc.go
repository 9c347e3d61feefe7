// Package logbridge routes the process-global loggers of libraries the
// scaler links — go-redis's and klog (client-go, the external metrics API
// server) — into the process's slog logger, so every line the process
// writes has the configured format. The binary calls Install once at start.
//
// It imports none of ours.
package logbridge
