// Command scaler-kube is the scaler with its Kubernetes client stack: the
// same command line as scaler (cmd/internal/scalercmd) plus what needs a
// cluster — explain, and serve with --hpa-awareness, --inference-discovery
// or --external-metrics-config (the external metrics API, 0 <-> 1 and node
// headroom without KEDA). scaler execs it for those, so it is installed
// beside scaler; it can also be run directly.
package main

import (
	"github.com/tide-scaler/tide/cmd/internal/scalercmd"
	"github.com/tide-scaler/tide/internal/app/kubeapp"
	"github.com/tide-scaler/tide/internal/explaincmd"
)

func main() {
	scalercmd.Main(&scalercmd.Kube{Serve: kubeapp.Run, Explain: explaincmd.Run})
}
