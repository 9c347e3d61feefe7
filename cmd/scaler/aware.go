package main

import (
	"flag"
	"fmt"
	"log/slog"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tide-scaler/tide/pkg/hpa"
	"github.com/tide-scaler/tide/pkg/hpa/kube"
	"github.com/tide-scaler/tide/pkg/server"
)

// awareFlags turn on HPA awareness: the scaler reads each ScaledObject's
// HPA and predicts its next step.
type awareFlags struct {
	enabled    bool
	kubeconfig string
	tolerance  float64
	gate       bool
}

func (a *awareFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&a.enabled, "hpa-awareness", false, "read each ScaledObject's HPA (RBAC: get HPAs, scale subresources, scaledobjects) and export the predicted replicas, the limiting rule and configuration warnings")
	fs.StringVar(&a.kubeconfig, "kubeconfig", "", "kubeconfig for --hpa-awareness and --external-metrics-config (default: the pod's service account)")
	fs.Float64Var(&a.tolerance, "hpa-tolerance", 0.1, "the cluster's --horizontal-pod-autoscaler-tolerance, for the HPA model")
	fs.BoolVar(&a.gate, "hpa-configurable-tolerance", true, "whether the cluster's HPAConfigurableTolerance gate is on (default on from Kubernetes 1.35)")
}

func (a *awareFlags) validate() error {
	if a.tolerance < 0 || a.tolerance != a.tolerance {
		return fmt.Errorf("--hpa-tolerance %v: must not be negative", a.tolerance)
	}
	return nil
}

// restConfig is the kubeconfig's or, without one, the service account's.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("HPA awareness needs a cluster: %w (outside one, pass --kubeconfig)", err)
	}
	return cfg, nil
}

// kubeClients are the typed and dynamic clients and a discovery
// RESTMapper (for scale targets of any kind) of the kubeconfig's cluster.
func kubeClients(kubeconfig string) (kubernetes.Interface, dynamic.Interface, meta.RESTMapper, error) {
	cfg, err := restConfig(kubeconfig)
	if err != nil {
		return nil, nil, nil, err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dynamic client: %w", err)
	}
	return kc, dc, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kc.Discovery())), nil
}

// lookup builds the HPA reader.
func (a *awareFlags) lookup(log *slog.Logger) (*kube.Lookup, error) {
	kc, dc, mapper, err := kubeClients(a.kubeconfig)
	if err != nil {
		return nil, err
	}
	return kube.NewLookup(kc, dc, mapper, kube.Options{Logger: log}), nil
}

func (a *awareFlags) hpaConfig() hpa.Config {
	cfg := hpa.DefaultConfig()
	cfg.Tolerance, cfg.ConfigurableTolerance = a.tolerance, a.gate
	return cfg
}

// config is the service's awareness configuration; nil when disabled.
func (a *awareFlags) config(log *slog.Logger, c *serveConfig) (*server.AwarenessConfig, error) {
	if !a.enabled {
		return nil, nil
	}
	l, err := a.lookup(log)
	if err != nil {
		return nil, err
	}
	return &server.AwarenessConfig{HPAs: l, Predictor: kube.NewPredictor(a.hpaConfig()), PollInterval: c.engine.PollInterval}, nil
}
