package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/externalmetrics"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/standalone"
)

// standaloneFlags turn on the mode for clusters without KEDA: the external
// metrics API for plain HPAs, 0 <-> 1 and node headroom.
type standaloneFlags struct {
	config         string
	port           int
	bindAddress    string
	certDir        string
	certFile       string
	keyFile        string
	leaseName      string
	leaseNamespace string
	identity       string
	interval       time.Duration
}

func (s *standaloneFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, "external-metrics-config", "", "YAML trigger configuration (a mounted ConfigMap; reloaded on change): serve external.metrics.k8s.io for HPAs without KEDA, own 0<->1 for triggers with minReplicas 0 and keep node headroom for triggers with nodeLeadTime")
	fs.IntVar(&s.port, "external-metrics-port", 6443, "HTTPS port of the external metrics API")
	fs.StringVar(&s.bindAddress, "external-metrics-bind-address", "", "address of the external metrics API (default: all)")
	fs.StringVar(&s.certDir, "external-metrics-cert-dir", "", "where a self-signed serving certificate is kept when no --external-metrics-tls-cert is given")
	fs.StringVar(&s.certFile, "external-metrics-tls-cert", "", "serving certificate of the external metrics API")
	fs.StringVar(&s.keyFile, "external-metrics-tls-key", "", "its private key")
	fs.StringVar(&s.leaseName, "lease-name", "tide-scaler", "coordination.k8s.io Lease that elects the replica writing 0<->1 and node headroom")
	fs.StringVar(&s.leaseNamespace, "lease-namespace", "", "namespace of the Lease (default: $POD_NAMESPACE, else default)")
	fs.StringVar(&s.identity, "lease-identity", "", "this replica's identity in the Lease (default: the host name)")
	fs.DurationVar(&s.interval, "standalone-interval", 5*time.Second, "how often 0<->1 and node headroom are checked")
}

func (s *standaloneFlags) validate() error {
	if s.config == "" {
		return nil
	}
	if s.port < 1 || s.port > 65535 {
		return fmt.Errorf("--external-metrics-port %d: want 1-65535", s.port)
	}
	if s.interval <= 0 {
		return fmt.Errorf("--standalone-interval %s: must be positive", s.interval)
	}
	if s.leaseNamespace == "" {
		s.leaseNamespace = os.Getenv("POD_NAMESPACE")
	}
	if s.leaseNamespace == "" {
		s.leaseNamespace = "default"
	}
	return nil
}

// runStandalone serves the external metrics API and runs the leader's
// loops until ctx ends. Both read the engine the gRPC service reads.
func runStandalone(ctx context.Context, s standaloneFlags, kubeconfig string, r server.Reader, parsers map[string]server.Parser, log *slog.Logger) error {
	kc, dc, mapper, err := kubeClients(kubeconfig)
	if err != nil {
		return err
	}
	file, err := externalmetrics.OpenConfigFile(s.config, parsers, log)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		ticks := time.NewTicker(externalmetrics.DefaultReloadInterval)
		defer ticks.Stop()
		file.Watch(ctx, ticks.C)
	})
	wg.Go(func() {
		defer cancel()
		errs[0] = externalmetrics.Serve(ctx, externalmetrics.Options{
			ConfigFile: s.config, Config: file, SecurePort: s.port, BindAddress: s.bindAddress, CertDir: s.certDir,
			TLSCertFile: s.certFile, TLSKeyFile: s.keyFile, Kubeconfig: kubeconfig,
			Reader: r, Parsers: parsers, Logger: log,
		})
	})
	wg.Go(func() {
		defer cancel()
		errs[1] = standalone.Run(ctx, standalone.Options{
			Config: file.Current, Reader: r, Parsers: parsers, Kube: kc, Dynamic: dc, Mapper: mapper,
			LeaseName: s.leaseName, LeaseNamespace: s.leaseNamespace, Identity: s.identity,
			Interval: s.interval, Logger: log,
		})
	})
	wg.Wait()
	return errors.Join(errs...)
}
