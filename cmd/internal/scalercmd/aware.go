package scalercmd

import (
	"flag"
	"fmt"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// awareFlags turn on HPA awareness: the scaler reads each ScaledObject's
// HPA and predicts its next step.
type awareFlags struct {
	enabled   bool
	tolerance float64
	gate      bool
}

func (a *awareFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&a.enabled, "hpa-awareness", false, "read each ScaledObject's HPA (RBAC: get HPAs, scale subresources, scaledobjects) and export the predicted replicas, the limiting rule and configuration warnings")
	fs.Float64Var(&a.tolerance, "hpa-tolerance", 0.1, "the cluster's --horizontal-pod-autoscaler-tolerance, for the HPA model")
	fs.BoolVar(&a.gate, "hpa-configurable-tolerance", true, "whether the cluster's HPAConfigurableTolerance feature gate is on (Kubernetes 1.35 turns it on)")
}

func (a *awareFlags) validate() error {
	if a.tolerance < 0 || a.tolerance != a.tolerance {
		return fmt.Errorf("--hpa-tolerance %v: must not be negative", a.tolerance)
	}
	return nil
}

// config is the HPA model's configuration; nil when awareness is off.
func (a *awareFlags) config() *hpa.Config {
	if !a.enabled {
		return nil
	}
	cfg := hpa.DefaultConfig()
	cfg.Tolerance, cfg.ConfigurableTolerance = a.tolerance, a.gate
	return &cfg
}
