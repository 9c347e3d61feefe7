// Package server is Tide's KEDA-facing face: the ExternalScaler gRPC service
// (externalscaler.proto) as a thin adapter over the trigger core. It maps
// each RPC to a trigger of the process's trigger.Cache and each reading to
// a response, pushes activation on StreamIsActive from the engine's cache
// updates, bounds streams per client, and maps errors to gRPC status codes
// in one place (toStatus). Server runs the gRPC service with health and
// reflection beside the HTTP endpoints (/metrics, /healthz, /readyz and
// routes the process adds), TLS on either, and a graceful drain.
//
// It imports the trigger core, the engine contract, metrics and gRPC; never
// client-go, another face or a concrete source. What the service sent is
// told to an Observer (HPA awareness, wired by cmd).
package server
