// Command kube-controller-manager is the upstream controller manager (the
// HPA controller among others), built from the module proxy for the
// end-to-end tests.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() { os.Exit(cli.Run(app.NewControllerManagerCommand())) }
