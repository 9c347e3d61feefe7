// Package app assembles the serving process that `scaler serve` and the
// demo run: the engine, the sources' environment and registry, the one
// trigger cache every face shares, the gRPC/HTTP server, HPA awareness and,
// without KEDA, the external metrics API and the standalone loops. It builds
// the process's only Kubernetes client stack (Kube) and passes it down.
//
// It is the command layer's: it imports the faces and the core, and nothing
// imports it but cmd. Its errors name configuration fields; the commands
// map them to their flags.
package app
