package kubeapp

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/pkg/awareness"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/metrics"
	"github.com/tide-scaler/tide/pkg/server"
	"github.com/tide-scaler/tide/pkg/sources/inference"
	"github.com/tide-scaler/tide/pkg/sources/inference/discovery"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// Run is app.Run with the Kubernetes features kc turns on, all from one
// client stack built on first use.
func Run(ctx context.Context, cfg app.Config, kc app.KubeConfig, log *slog.Logger, started func(*server.Server)) error {
	k := NewKube(kc.Kubeconfig)
	var d *discovery.Kube
	if kc.Discovery || kc.PushPeers != nil {
		d = NewDiscovery(k)
		defer d.Close()
	}
	if kc.Discovery {
		cfg.Discovery = d
	}
	if p := kc.PushPeers; p != nil {
		peers, err := inference.FollowPeers(d, p.Namespace, p.Service, p.Port, p.PodIP)
		if err != nil {
			return fmt.Errorf("push peers: %w", err)
		}
		defer peers.Close()
		cfg.Peers = peers
	}
	if kc.Awareness != nil {
		model := *kc.Awareness
		cfg.Awareness = func(met *metrics.Metrics) (app.Awareness, error) {
			clients, err := k.Clients()
			if err != nil {
				return nil, err
			}
			return predictor{awareness.New(awareness.Config{
				HPAs:      kube.NewLookup(clients.Kube, clients.Dynamic, clients.Mapper, kube.Options{Logger: log}),
				Predictor: kube.NewPredictor(model), PollInterval: cfg.Engine.PollInterval,
				Idle: cfg.IdleTriggerTTL, Metrics: met, Logger: log,
			})}, nil
		}
	}
	if s := kc.Standalone; s != nil {
		cfg.Beside = func(ctx context.Context, cache *trigger.Cache) error {
			return runStandalone(ctx, *s, k, kc.Kubeconfig, cache, log)
		}
	}
	return app.Run(ctx, cfg, log, started)
}

// NewDiscovery follows Services with the clients of k, built on the first
// Follow: a process with no Service triggers never needs a cluster.
func NewDiscovery(k *Kube) *discovery.Kube {
	return discovery.New(func() (discovery.Client, error) {
		c, err := k.Clients()
		if err != nil {
			return nil, err
		}
		return c.Kube.DiscoveryV1(), nil
	})
}

// predictor adapts awareness.Awareness to app.Awareness.
type predictor struct{ *awareness.Awareness }

func (p predictor) Predicted(o trigger.Owner) (int32, string, bool) {
	pr, ok := p.Awareness.Predicted(o)
	return pr.Replicas, pr.Rule, ok
}
