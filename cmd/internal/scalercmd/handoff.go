package scalercmd

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// KubeBinary is the name of the binary with the Kubernetes client stack
// (cmd/scaler-kube), installed in the same directory as scaler.
const KubeBinary = "scaler-kube"

// Handoff is the lean binary's answer to a command that needs the
// Kubernetes client: Main execs scaler-kube with the same arguments.
type Handoff struct {
	// Reason names the command or flag that needs the client.
	Reason string
}

func (h *Handoff) Error() string {
	return fmt.Sprintf("%s needs the Kubernetes client, which is in %s, not in this binary", h.Reason, KubeBinary)
}

// Exec replaces this process with scaler-kube from the directory of this
// executable, passing args and the environment on. It returns only when
// that fails.
func (h *Handoff) Exec(args []string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("%w: %v", h, err)
	}
	bin := filepath.Join(filepath.Dir(self), KubeBinary)
	if err := syscall.Exec(bin, append([]string{bin}, args...), os.Environ()); err != nil {
		return fmt.Errorf("%w: install %s beside this binary (exec %s: %v)", h, KubeBinary, bin, err)
	}
	return nil
}
