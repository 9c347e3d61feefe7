// Package externalscaler is KEDA's external-scaler wire contract: the .proto
// kept byte-compatible with KEDA's externalscaler.proto (package, service,
// RPC names, field numbers and types) and its generated Go, committed
// (`make proto` regenerates it; `make proto-check` fails on drift). It
// imports only protobuf and gRPC.
package externalscaler
