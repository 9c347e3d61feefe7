package allow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// List is one source's allowed upstreams. A nil *List allows everything.
type List struct {
	names []namePattern
	nets  []netPattern
	spec  []string // the patterns as written, for errors
}

type namePattern struct {
	host     string // lower case; without the "*." of a wildcard
	wildcard bool   // "*.example.com": any name ending in ".example.com"
	port     int    // 0: any port
}

type netPattern struct {
	prefix netip.Prefix
	port   int
}

// DeniedError is an address the list does not allow.
type DeniedError struct {
	Addr    string
	Allowed []string
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("%s is not an upstream this scaler may connect to (allowed: %s)", e.Addr, strings.Join(e.Allowed, ", "))
}

// Parse reads patterns: a host name ("kafka.svc"), a wildcard
// ("*.kafka.svc"), an IP or a CIDR ("10.0.0.0/8"), each optionally with a
// port ("*.kafka.svc:9092", "10.0.0.0/8:6379", "[fd00::/8]:6379").
func Parse(patterns []string) (*List, error) {
	l := &List{}
	for _, p := range patterns {
		if err := l.add(strings.TrimSpace(p)); err != nil {
			return nil, fmt.Errorf("upstream pattern %q: %w", p, err)
		}
	}
	return l, nil
}

func (l *List) add(p string) error {
	host, port, err := splitPattern(p)
	if err != nil {
		return err
	}
	l.spec = append(l.spec, p)
	if pre, err := netip.ParsePrefix(host); err == nil {
		l.nets = append(l.nets, netPattern{pre.Masked(), port})
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		l.nets = append(l.nets, netPattern{netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()), port})
		return nil
	}
	name, wild := strings.CutPrefix(strings.ToLower(host), "*.")
	if name == "" || strings.ContainsAny(name, "*/[]") {
		return errors.New("want a host name, *.domain, an IP or a CIDR")
	}
	l.names = append(l.names, namePattern{host: name, wildcard: wild, port: port})
	return nil
}

// splitPattern splits an optional ":port" off p; IPv6 needs brackets to
// carry one.
func splitPattern(p string) (string, int, error) {
	if p == "" {
		return "", 0, errors.New("is empty")
	}
	if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
		return p[1 : len(p)-1], 0, nil
	}
	if !strings.Contains(p, ":") || !strings.HasPrefix(p, "[") && strings.Count(p, ":") > 1 {
		return p, 0, nil // no port, or a bare IPv6 address or prefix
	}
	host, portStr, err := net.SplitHostPort(p)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", portStr)
	}
	return host, port, nil
}

// Check is the parse-time test of an address a trigger names: a name or
// IP literal that no pattern allows is denied at once. A name that only a
// CIDR could allow is left to the dial, which sees the IP.
func (l *List) Check(hostport string) error {
	if l == nil {
		return nil
	}
	host, port, err := splitAddr(hostport)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if l.allowsIP(ip, port) {
			return nil
		}
	} else if l.allowsName(host, port) || l.netsCouldAllow(port) {
		return nil
	}
	return &DeniedError{Addr: hostport, Allowed: l.spec}
}

func (l *List) allowsName(host string, port int) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return slices.ContainsFunc(l.names, func(p namePattern) bool {
		if p.port != 0 && p.port != port {
			return false
		}
		if p.wildcard {
			return strings.HasSuffix(host, "."+p.host)
		}
		return host == p.host
	})
}

func (l *List) allowsIP(ip netip.Addr, port int) bool {
	ip = ip.Unmap()
	return slices.ContainsFunc(l.nets, func(p netPattern) bool {
		return (p.port == 0 || p.port == port) && p.prefix.Contains(ip)
	})
}

func (l *List) netsCouldAllow(port int) bool {
	return slices.ContainsFunc(l.nets, func(p netPattern) bool { return p.port == 0 || p.port == port })
}

func splitAddr(hostport string) (string, int, error) {
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: bad port", hostport)
	}
	return host, port, nil
}

// DialContext wraps d so that every connection goes only where the list
// allows: a name a pattern allows is dialled as is; any other address
// connects only to an IP a CIDR allows, checked on the socket before it
// connects (so DNS cannot point a permitted name elsewhere). A nil list
// returns d.DialContext.
func (l *List) DialContext(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if l == nil {
		return d.DialContext
	}
	checked := *d
	inner := d.Control
	checked.Control = func(network, address string, c syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !l.allowsIP(ap.Addr(), int(ap.Port())) {
			return &DeniedError{Addr: address, Allowed: l.spec}
		}
		if inner != nil {
			return inner(network, address, c)
		}
		return nil
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := splitAddr(addr)
		if err != nil {
			return nil, err
		}
		if _, err := netip.ParseAddr(host); err != nil && l.allowsName(host, port) {
			return d.DialContext(ctx, network, addr)
		}
		conn, err := checked.DialContext(ctx, network, addr)
		var denied *DeniedError
		if errors.As(err, &denied) {
			denied.Addr = addr + " (" + denied.Addr + ")"
			return nil, denied
		}
		return conn, err
	}
}
