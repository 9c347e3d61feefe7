package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tide-scaler/tide/pkg/externalmetrics"
	"github.com/tide-scaler/tide/pkg/leader"
	"github.com/tide-scaler/tide/pkg/standalone"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// Standalone configures the mode for clusters without KEDA.
type Standalone struct {
	// ConfigFile is the YAML trigger configuration (a mounted ConfigMap),
	// reloaded when it changes.
	ConfigFile string
	// Port and BindAddress are where the external metrics API listens.
	Port        int
	BindAddress string
	// CertFile and KeyFile are its serving certificate; without them a
	// self-signed one is kept in CertDir (in memory when empty).
	CertDir, CertFile, KeyFile string
	// LeaseName, LeaseNamespace and Identity elect the replica that writes
	// 0<->1 and headroom.
	LeaseName, LeaseNamespace, Identity string
	// Interval is how often 0<->1 and headroom are checked.
	Interval time.Duration
}

// runStandalone serves the external metrics API and runs the leader's
// loops until ctx ends. The configuration's triggers are held in the
// process's trigger cache, so the API, 0<->1, headroom and gRPC share one
// instance (and one activation latch) per trigger.
func runStandalone(ctx context.Context, s Standalone, kc *Kube, kubeconfig string, cache *trigger.Cache, log *slog.Logger) error {
	clients, err := kc.Clients()
	if err != nil {
		return err
	}
	file, err := workload.Open(s.ConfigFile, cache, workload.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("external metrics config: %w", err)
	}
	defer file.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		t := time.NewTicker(workload.DefaultReloadInterval)
		defer t.Stop()
		file.Watch(ctx, t.C)
	})
	wg.Go(func() {
		defer cancel()
		errs[0] = externalmetrics.Serve(ctx, externalmetrics.Options{
			Workloads: file, Cache: cache, SecurePort: s.Port, BindAddress: s.BindAddress, CertDir: s.CertDir,
			TLSCertFile: s.CertFile, TLSKeyFile: s.KeyFile, Kubeconfig: kubeconfig, Logger: log,
		})
	})
	wg.Go(func() {
		defer cancel()
		errs[1] = standalone.Run(ctx, standalone.Options{
			Workloads: file.Current, Cache: cache, Kube: clients.Kube, Dynamic: clients.Dynamic, Mapper: clients.Mapper,
			Lease:    leader.Config{LeaseName: s.LeaseName, LeaseNamespace: s.LeaseNamespace, Identity: s.Identity},
			Interval: s.Interval, Logger: log,
		})
	})
	wg.Wait()
	return errors.Join(errs...)
}
