package app

import (
	"time"

	"github.com/tide-scaler/tide/pkg/hpa"
)

// KubeConfig is the part of serve that needs a Kubernetes client. The lean
// scaler binary links no Kubernetes client; internal/app/kubeapp, linked by
// scaler-kube, runs a Config with it (kubeapp.Run).
type KubeConfig struct {
	// Kubeconfig is the one kubeconfig of the process ("" is the pod's
	// service account), for every client it builds.
	Kubeconfig string
	// Discovery follows Services for inference triggers with `service`.
	Discovery bool
	// Awareness, when set, predicts each ScaledObject's HPA.
	Awareness *hpa.Config
	// Standalone, when set, runs the external metrics API, 0<->1 and
	// headroom for the triggers of its configuration file.
	Standalone *Standalone
	// PushPeers, when set, forwards accepted pushes to the other ready
	// replicas of the scaler's own Service.
	PushPeers *PushPeers
}

// Needed reports whether any feature needs the Kubernetes client.
func (k KubeConfig) Needed() bool {
	return k.Discovery || k.Awareness != nil || k.Standalone != nil || k.PushPeers != nil
}

// PushPeers names the scaler's own Service, whose EndpointSlices list its
// replicas (inference.FollowPeers).
type PushPeers struct {
	Namespace, Service string
	// Port is the HTTP port's name in the Service, or its number.
	Port string
	// PodIP is this replica's, left out of its peers.
	PodIP string
}

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
