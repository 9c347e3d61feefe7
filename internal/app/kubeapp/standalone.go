package kubeapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/pkg/externalmetrics"
	"github.com/tide-scaler/tide/pkg/leader"
	"github.com/tide-scaler/tide/pkg/standalone"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// runStandalone serves the external metrics API and runs the leader's
// loops until ctx ends. The configuration's triggers are held in the
// process's trigger cache, so the API, 0<->1, headroom and gRPC share one
// instance (and one activation latch) per trigger.
func runStandalone(ctx context.Context, s app.Standalone, kc *Kube, kubeconfig string, cache *trigger.Cache, log *slog.Logger) error {
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
