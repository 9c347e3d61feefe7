// Package kubeapp is the Kubernetes half of the serving process, linked
// only by cmd/scaler-kube: the process's one Kubernetes client stack (Kube),
// inference Service discovery, HPA awareness and, without KEDA, the
// external metrics API with the standalone loops (0 <-> 1, node headroom).
// Run hands them to internal/app through its hooks, so the lean scaler
// binary, which links internal/app alone, links no Kubernetes client and
// no API server (internal/arch guards it).
//
// It is the command layer's: it imports internal/app, the faces that need
// Kubernetes and their clients; nothing imports it but cmd and the
// explain command. Its errors name configuration fields.
package kubeapp
