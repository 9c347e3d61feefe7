// Package e2e runs Tide where its users run it: a real control plane
// (etcd, kube-apiserver, kube-controller-manager) and KEDA v2.21.0's real
// operator and metrics adapter, all built from the Go module proxy by
// scripts/e2e-build.sh and started on loopback by package cluster. The
// tests drive Deployments through ScaledObjects that point at a Tide
// process and watch .spec.replicas.
//
// The tests that install Tide as users do (helm_test.go, kustomize_test.go)
// also start one real node (cluster.StartNode: containerd 2 and runc built
// here, Debian's CNI plugins, the kubelet and the scheduler, a pause image
// built here) and run the scaler's own image (build/image) as pods; KEDA
// resolves the headless Service's name through a hosts file fed from its
// EndpointSlices (the cluster has no DNS).
//
// It is its own module: the KEDA and Kubernetes trees it builds stay out
// of the product's go.mod.
package e2e
