// Package app assembles the serving process that `scaler serve` and the
// demo run: the engine, the sources' environment and registry, the one
// trigger cache every face shares, the gRPC/HTTP server and the status
// page. It links no Kubernetes client: Service discovery, HPA awareness
// and, without KEDA, the external metrics API with the standalone loops
// come in through Config's hooks (Discovery, Awareness, Beside), filled by
// internal/app/kubeapp in scaler-kube, which builds the process's only
// Kubernetes client stack (internal/arch TestLeanScalerLinksNoKubernetes).
//
// It is the command layer's: it imports the faces and the core, and nothing
// imports it but cmd. Its errors name configuration fields; the commands
// map them to their flags.
package app
