package scalercmd

import (
	"flag"
	"fmt"
	"time"

	"github.com/tide-scaler/tide/internal/app"
)

// maxStatusPoints bounds the points of one trigger's chart: 1000 charted
// triggers × 1440 points × 24 bytes is at most 35 MB.
const maxStatusPoints = 1440

// statusFlags shape the status page, GET /status on the HTTP port.
type statusFlags struct {
	enabled    bool
	span, step time.Duration
}

func (s *statusFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&s.enabled, "status-page", true, "serve the read-only status page at /status on the HTTP port (same TLS as /metrics)")
	fs.DurationVar(&s.span, "status-history", 3*time.Hour, "how far back the status page's charts go")
	fs.DurationVar(&s.step, "status-step", time.Minute, "one point of the status page's charts: the largest demand and replicas of each step")
}

func (s *statusFlags) validate() error {
	if s.span <= 0 || s.step <= 0 {
		return fmt.Errorf("--status-history %s and --status-step %s: must be positive", s.span, s.step)
	}
	if n := s.span / s.step; n < 1 || n > maxStatusPoints {
		return fmt.Errorf("--status-history %s / --status-step %s is %d points: want 1 to %d", s.span, s.step, n, maxStatusPoints)
	}
	return nil
}

func (s *statusFlags) config() app.StatusPage {
	return app.StatusPage{Off: !s.enabled, Span: s.span, Step: s.step}
}
