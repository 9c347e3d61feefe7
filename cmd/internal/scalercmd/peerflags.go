package scalercmd

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"

	"github.com/tide-scaler/tide/internal/app"
	"github.com/tide-scaler/tide/pkg/sources/inference"
)

// peerFlags forward the pushes a replica accepts to the other replicas, so
// a gateway may push to any one of them and every replica answers KEDA
// the same.
type peerFlags struct {
	static  string
	service string
	port    string
	podIP   string

	peers inference.StaticPeers // parsed --push-peers
	svc   *app.PushPeers        // parsed --push-peers-service
}

func (p *peerFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&p.static, "push-peers", "", "comma-separated base URLs of the other scaler replicas (e.g. http://10.0.0.2:8080), to forward every accepted push to, so a gateway may push to any one replica; for runs outside Kubernetes (there: --push-peers-service)")
	fs.StringVar(&p.service, "push-peers-service", "", "namespace/name of this scaler's own (headless) Service: accepted pushes are forwarded to its other ready endpoints, found through its EndpointSlices (RBAC: get, list, watch endpointslices in that namespace; needs --pod-ip)")
	fs.StringVar(&p.port, "push-peers-port", "http", "the HTTP port of --push-peers-service's endpoints: its name in the Service, or a number")
	fs.StringVar(&p.podIP, "pod-ip", "", "this pod's IP (the downward API's status.podIP, as TIDE_POD_IP), left out of --push-peers-service's endpoints")
}

// validate checks the flags; push is whether --push-token-file is set, and
// httpTLS whether the HTTP endpoints serve TLS.
func (p *peerFlags) validate(push, httpTLS bool) error {
	if p.static == "" && p.service == "" {
		return nil
	}
	switch {
	case p.static != "" && p.service != "":
		return errors.New("--push-peers and --push-peers-service: set one of them")
	case !push:
		return errors.New("--push-peers and --push-peers-service need --push-token-file: the peers' forward route takes the push token")
	}
	if p.static != "" {
		var err error
		if p.peers, err = inference.ParseStaticPeers(strings.Split(p.static, ",")); err != nil {
			return fmt.Errorf("--push-peers: %w", err)
		}
		return nil
	}
	ns, name, ok := strings.Cut(p.service, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("--push-peers-service %q: want namespace/name", p.service)
	}
	if p.port == "" {
		return errors.New("--push-peers-port: want the HTTP port's name or number")
	}
	if _, err := netip.ParseAddr(p.podIP); err != nil {
		return fmt.Errorf("--pod-ip %q: want this pod's IP (status.podIP through the downward API): --push-peers-service must leave it out", p.podIP)
	}
	if httpTLS {
		return errors.New("--push-peers-service with --http-tls-cert: peers are reached over plain HTTP at their pod IPs; use --push-peers with https:// URLs, or no HTTP TLS")
	}
	p.svc = &app.PushPeers{Namespace: ns, Service: name, Port: p.port, PodIP: p.podIP}
	return nil
}
