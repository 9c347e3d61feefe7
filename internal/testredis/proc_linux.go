package testredis

import (
	"os/exec"
	"syscall"
)

// orphanProof makes the kernel kill the server when the test process dies
// without running its cleanups (a -timeout panic, a kill -9).
func orphanProof(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
