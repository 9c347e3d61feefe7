// Package server owns Tide's KEDA-facing gRPC service (externalscaler.proto):
// it parses scalerMetadata once into typed triggers, answers every RPC from
// the engine's cache, pushes activation on StreamIsActive, and maps errors to
// gRPC status codes in one place. It also assembles the process: gRPC with
// health and reflection, the HTTP endpoints (/metrics, /healthz, /readyz),
// TLS, and a graceful drain on shutdown.
package server
