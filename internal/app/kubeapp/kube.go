package kubeapp

import (
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// Kube is the process's one Kubernetes client stack: one rest.Config (from
// the kubeconfig, or the pod's service account without one) and one
// RESTMapper, built on first use, so a process that never needs a cluster
// never looks for one. HPA awareness, standalone, inference discovery and
// explain all take their clients from it.
type Kube struct {
	kubeconfig string

	once    sync.Once
	clients *Clients
	err     error
}

// Clients are the clients of one cluster.
type Clients struct {
	Config  *rest.Config
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Mapper resolves scale targets of any kind (discovery, cached).
	Mapper meta.RESTMapper
}

// NewKube reads kubeconfig ("" for the service account) on first use.
func NewKube(kubeconfig string) *Kube { return &Kube{kubeconfig: kubeconfig} }

// Clients builds the clients once and returns them, or the error that
// stopped that.
func (k *Kube) Clients() (*Clients, error) {
	k.once.Do(func() { k.clients, k.err = newClients(k.kubeconfig) })
	return k.clients, k.err
}

func newClients(kubeconfig string) (*Clients, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		if cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
		}
	} else if cfg, err = rest.InClusterConfig(); err != nil {
		return nil, fmt.Errorf("no Kubernetes cluster: %w (outside one, give a kubeconfig)", err)
	}
	cfg.UserAgent = "tide-scaler"
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kc.Discovery()))
	return &Clients{Config: cfg, Kube: kc, Dynamic: dc, Mapper: mapper}, nil
}
