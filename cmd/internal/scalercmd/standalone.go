package scalercmd

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tide-scaler/tide/internal/app"
)

// standaloneFlags turn on the mode for clusters without KEDA: the external
// metrics API for plain HPAs, 0 <-> 1 and node headroom.
type standaloneFlags struct{ app.Standalone }

func (s *standaloneFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.ConfigFile, "external-metrics-config", "", "YAML trigger configuration (a mounted ConfigMap; reloaded on change): serve external.metrics.k8s.io for HPAs without KEDA, own 0<->1 for triggers with minReplicas 0 and keep node headroom for triggers with nodeLeadTime")
	fs.IntVar(&s.Port, "external-metrics-port", 6443, "HTTPS port of the external metrics API")
	fs.StringVar(&s.BindAddress, "external-metrics-bind-address", "", "address of the external metrics API (default: all)")
	fs.StringVar(&s.CertDir, "external-metrics-cert-dir", "", "where a self-signed serving certificate is kept when no --external-metrics-tls-cert is given")
	fs.StringVar(&s.CertFile, "external-metrics-tls-cert", "", "serving certificate of the external metrics API")
	fs.StringVar(&s.KeyFile, "external-metrics-tls-key", "", "its private key")
	fs.StringVar(&s.LeaseName, "lease-name", "tide-scaler", "coordination.k8s.io Lease that elects the replica writing 0<->1 and node headroom")
	fs.StringVar(&s.LeaseNamespace, "lease-namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, else default)")
	fs.StringVar(&s.Identity, "lease-identity", "", "this replica's identity in the Lease (default: the host name)")
	fs.DurationVar(&s.Interval, "standalone-interval", 5*time.Second, "how often 0<->1 and node headroom are checked")
}

func (s *standaloneFlags) validate() error {
	if s.ConfigFile == "" {
		return nil
	}
	if s.Port < 1 || s.Port > 65535 {
		return fmt.Errorf("--external-metrics-port %d: want 1-65535", s.Port)
	}
	if s.Interval <= 0 {
		return fmt.Errorf("--standalone-interval %s: must be positive", s.Interval)
	}
	if s.LeaseNamespace == "" {
		s.LeaseNamespace = os.Getenv("POD_NAMESPACE")
	}
	if s.LeaseNamespace == "" {
		s.LeaseNamespace = "default"
	}
	return nil
}

// config is the standalone configuration; nil without --external-metrics-config.
func (s *standaloneFlags) config() *app.Standalone {
	if s.ConfigFile == "" {
		return nil
	}
	c := s.Standalone
	return &c
}
