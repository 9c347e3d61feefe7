// Package explaincmd is the explain command (`scaler explain`, run by
// scaler-kube, and `tide-demo explain`): it reads one trigger through a
// real engine with the registry and environment serve builds, reads the
// ScaledObject's live HPA when asked (--scaledobject), and prints what the
// scaler would send and what the HPA model does with it (pkg/explain).
//
// It links the Kubernetes client stack (internal/app/kubeapp), so the lean
// scaler binary hands explain to scaler-kube rather than import it. It
// imports internal/cli for the shared flags and exit codes; its errors
// name flags.
package explaincmd
