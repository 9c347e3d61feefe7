// Package status is Tide's status page: a read-only, self-contained HTML
// page on the HTTP port (beside /metrics, with the same TLS) that lists
// every trigger the process holds, with its source, upstream (its loggable
// name, which never holds credentials), value and target, activity,
// desired replicas, limiting rule, sample age and last error, and charts
// the last hours of demand and desired replicas.
//
// It owns:
//   - History: a bounded ring of downsampled points per trigger (the
//     largest demand and desired replicas of each step). Memory is bounded
//     by MaxSeries × Span/Step points of 24 bytes: with the defaults (1000
//     triggers, 3 h in 1 min steps) 1000 × 180 × 24 B ≈ 4.3 MB;
//   - Page: the recorder that adds one point per trigger and interval, and
//     the handler that renders the page with html/template (every value
//     escaped) and an inline SVG chart, under a Content-Security-Policy that
//     allows no script and nothing fetched; the `namespace` query parameter
//     filters it.
//
// It reads what other components already hold, through small interfaces:
// the trigger cache's triggers and what each says of a sample
// (Trigger.Describe, which never moves activation), the engine's cached
// samples (Engine.Peek, which neither marks a query used nor polls), and
// HPA awareness's prediction. It imports the trigger core and the engine
// contract (pkg/sources), never another face, gRPC or Kubernetes, and does
// no upstream I/O.
package status
