// Command kube-scheduler is the upstream scheduler, built from the module
// proxy for the end-to-end tests' one real node.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() { os.Exit(cli.Run(app.NewSchedulerCommand())) }
