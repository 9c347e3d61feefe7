package inference

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// ServicePeers lists the other replicas of this scaler from its own
// Service's EndpointSlices (through Discovery): the ready endpoints, minus
// this replica's pod IP, at the HTTP port.
type ServicePeers struct {
	svc    Service
	port   string // a port name of the EndpointSlices, or a number
	self   netip.Addr
	scheme string
}

var _ PeerSource = (*ServicePeers)(nil)

// FollowPeers follows namespace/service for the replicas' push endpoints.
// port is the HTTP port's name in the Service (e.g. "http") or its number;
// selfIP is this pod's IP, left out of the list. Close stops following.
func FollowPeers(d Discovery, namespace, service, port, selfIP string) (*ServicePeers, error) {
	if d == nil {
		return nil, errors.New("following the scaler's own Service needs Kubernetes discovery")
	}
	if namespace == "" || service == "" {
		return nil, fmt.Errorf("service %q: want namespace/name", namespace+"/"+service)
	}
	if port == "" {
		return nil, errors.New("port: want the HTTP port's name or number")
	}
	self, err := netip.ParseAddr(selfIP)
	if err != nil {
		return nil, fmt.Errorf("pod IP %q: not an IP address (this replica must be left out of its peers)", selfIP)
	}
	svc, err := d.Follow(namespace, service)
	if err != nil {
		return nil, err
	}
	return &ServicePeers{svc: svc, port: port, self: self.Unmap(), scheme: "http"}, nil
}

// Peers returns the base URLs of the ready endpoints other than this pod.
// An endpoint without the port is left out.
func (p *ServicePeers) Peers(ctx context.Context) ([]string, error) {
	eps, err := p.svc.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, ep := range eps {
		if !ep.Ready {
			continue
		}
		if ip, err := netip.ParseAddr(ep.IP); err != nil || ip.Unmap() == p.self {
			continue
		}
		port := p.port
		if _, err := strconv.Atoi(port); err != nil {
			n, ok := ep.Ports[port]
			if !ok {
				continue
			}
			port = strconv.Itoa(int(n))
		}
		out = append(out, p.scheme+"://"+net.JoinHostPort(ep.IP, port))
	}
	return out, nil
}

// Close stops following the Service.
func (p *ServicePeers) Close() error { return p.svc.Close() }

// ParseStaticPeers checks a static peer list: each an http or https base
// URL with a host and no path, query or credentials.
func ParseStaticPeers(urls []string) (StaticPeers, error) {
	var out StaticPeers
	for _, s := range urls {
		u, err := url.Parse(strings.TrimSuffix(s, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			shown := s
			if err == nil && u.User != nil {
				shown = u.Redacted()
			}
			return nil, fmt.Errorf("peer %q: want a base URL such as http://10.0.0.2:8080, without credentials", shown)
		}
		out = append(out, u.String())
	}
	return out, nil
}
