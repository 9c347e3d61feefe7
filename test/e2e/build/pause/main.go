// Command pause is the e2e node's pod sandbox process (what
// registry.k8s.io/pause is on a real cluster): PID 1 of each pod, holding
// its namespaces. It reaps orphans and exits on SIGINT or SIGTERM. It is
// built here and imported into the node's containerd, which pulls nothing.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
}
