// Command load holds Tide's real scaler binary under KEDA-scale load and
// reports what it costs: it owns the load run of benchmarks/README.md
// section 7 (`make load`).
//
// It builds `scaler serve` from the repository, starts it on free loopback
// ports in its own process group (killed with this process), and starts the
// upstreams itself: a 3-broker kfake Kafka cluster in process, Debian's
// redis-server from PATH, and an HTTP server of fake vLLM pods. It then
// holds T triggers (ScaledObjects) split over the three sources and S
// StreamIsActive streams over a few client connections for a bounded time,
// asks GetMetrics of every trigger at KEDA's rate (each every 15 s) beside a
// paced grpc.health.v1 Check baseline, and prints a markdown report: the
// scaler's RSS and goroutines, client-side latencies, poll-cycle times per
// upstream from the scaler's own histogram, and a SIGTERM drain in which
// every stream must end with status OK and the process must exit 0. Any
// failed check makes the command exit 1.
//
// Files: main.go (flags, the run's phases), scaler.go (building, starting
// and stopping the binary, /proc and /metrics readings), upstreams.go
// (Kafka, Redis, vLLM fakes and the trigger metadata), drive.go (streams
// and paced RPCs), cpu.go (who used the CPU during the window), report.go
// (quantiles, poll histograms and the markdown report), load_test.go (the
// whole run in -quick mode, part of `go test ./...`).
package main
