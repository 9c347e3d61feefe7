package inference

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Discovery follows the ready endpoints of Kubernetes Services. The
// discovery package implements it with client-go informers; this package
// never imports Kubernetes.
type Discovery interface {
	// Follow starts following namespace/service (or shares a follower
	// already running); Close on the result stops it.
	Follow(namespace, service string) (Service, error)
}

// Service is a followed Service.
type Service interface {
	// Endpoints returns the Service's endpoints, waiting within ctx for the
	// first list of its EndpointSlices. An error means "unknown", never
	// "no endpoints".
	Endpoints(ctx context.Context) ([]ServiceEndpoint, error)
	Close() error
}

// ServiceEndpoint is one address of a Service, as an EndpointSlice has it.
type ServiceEndpoint struct {
	Pod   string // the target pod's name; empty when not a pod
	IP    string
	Ports map[string]int32 // by port name ("" for an unnamed port)
	// Ready is false for endpoints that are not ready or terminating
	// (Pending, starting, draining): they are no capacity and not scraped.
	Ready bool
}

// target is one pod to scrape.
type target struct {
	name string // pod name, or the URL for static targets
	url  string
}

// scrapeTargets is how a scrape trigger finds its pods and scrapes them;
// triggers with equal settings share one upstream.
type scrapeTargets struct {
	static      []string // URLs, sorted; or:
	namespace   string
	service     string
	port        string // name or number; "" = the Service's only port
	path        string
	scheme      string
	interval    time.Duration
	timeout     time.Duration
	concurrency int
	unsafeSSL   bool
	auth        *httpAuth
	discovery   Discovery
	endpoint    sources.Endpoint
}

func parseTargets(md metadata.Metadata, env Env) (*scrapeTargets, error) {
	t := &scrapeTargets{}
	var err error
	if t.interval, err = duration(md, "scrapeInterval", time.Second, time.Second, 100*time.Millisecond, time.Minute); err != nil {
		return nil, err
	}
	if t.timeout, err = duration(md, "scrapeTimeout", min(800*time.Millisecond, t.interval), time.Second, 10*time.Millisecond, time.Minute); err != nil {
		return nil, err
	}
	if t.timeout > t.interval {
		return nil, metadata.Invalid("scrapeTimeout", md.String("scrapeTimeout", ""), "must not exceed scrapeInterval (%s)", t.interval)
	}
	n, err := md.Int("scrapeConcurrency", 16, 1)
	if err != nil {
		return nil, err
	}
	if n > 256 {
		return nil, metadata.Invalid("scrapeConcurrency", md["scrapeConcurrency"], "must be at most 256")
	}
	t.concurrency = int(n)
	if t.unsafeSSL, err = md.Bool("unsafeSsl", false); err != nil {
		return nil, err
	}
	t.path = md.String("path", "/metrics")
	if !strings.HasPrefix(t.path, "/") || strings.ContainsAny(t.path, " \t\r\n#") {
		return nil, metadata.Invalid("path", t.path, "want an absolute URL path such as /metrics")
	}
	switch {
	case md.Has("targets") && md.Has("service"):
		return nil, metadata.Invalid("targets", shown(md["targets"]), "set either targets or service, not both")
	case md.Has("targets"):
		err = t.parseStatic(md, env.Policy)
	case md.Has("service"):
		err = t.parseService(md, env)
	default:
		return nil, &metadata.ConfigError{Key: "targets", Reason: "set targets (comma list of URLs) or service (Kubernetes discovery)"}
	}
	if err != nil {
		return nil, err
	}
	if t.auth, err = parseAuth(md, ModeScrape, t.unsafeSSL, env.Policy); err != nil {
		return nil, err
	}
	if err := t.checkHTTPS(); err != nil {
		return nil, err
	}
	spec := fmt.Sprintf("interval=%s|timeout=%s|concurrency=%d|unsafeSsl=%t|%s", t.interval, t.timeout, t.concurrency,
		t.unsafeSSL, t.auth.describe())
	if t.static != nil {
		t.endpoint = sources.Endpoint{Key: "inference-scrape|" + strings.Join(t.static, ",") + "|" + spec,
			Name: "scrape://" + t.subject(), Interval: t.interval}
	} else {
		loc := fmt.Sprintf("%s/%s:%s%s", t.namespace, t.service, t.port, t.path)
		t.endpoint = sources.Endpoint{Key: "inference-scrape|k8s|" + t.scheme + "|" + loc + "|" + spec,
			Name: "scrape://" + loc, Interval: t.interval}
	}
	return t, nil
}

func (t *scrapeTargets) parseStatic(md metadata.Metadata, pol sources.Policy) error {
	if md.Has("namespace") || md.Has("port") || md.Has("scheme") {
		return metadata.Invalid("targets", shown(md["targets"]), "namespace, port and scheme apply to service discovery only; put them in the URLs")
	}
	for _, raw := range md.List("targets") {
		u, err := httpURL("targets", raw)
		if err != nil {
			return err
		}
		if err := pol.CheckUpstream("targets", hostPort(u)); err != nil {
			return err
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = t.path
		}
		t.static = append(t.static, u.String())
	}
	if len(t.static) == 0 {
		return metadata.Invalid("targets", shown(md["targets"]), "lists no URL")
	}
	slices.Sort(t.static)
	t.static = slices.Compact(t.static)
	return nil
}

func (t *scrapeTargets) parseService(md metadata.Metadata, env Env) error {
	t.service = md.String("service", "")
	if !dnsLabel.MatchString(t.service) {
		return metadata.Invalid("service", t.service, "not a Kubernetes Service name")
	}
	ns, err := md.Required("namespace")
	if err != nil {
		return err
	}
	if !dnsLabel.MatchString(ns) {
		return metadata.Invalid("namespace", ns, "not a Kubernetes namespace name")
	}
	t.namespace = ns
	t.port = md.String("port", "")
	if n, err := strconv.Atoi(t.port); t.port != "" && (err == nil && (n < 1 || n > 65535) || err != nil && !dnsLabel.MatchString(t.port)) {
		return metadata.Invalid("port", t.port, "want a port number or a port name")
	}
	if t.scheme, err = md.Enum("scheme", "http", "http", "https"); err != nil {
		return err
	}
	if env.Discovery == nil {
		return metadata.Invalid("service", t.service, "Kubernetes discovery is not available in this process; use targets")
	}
	t.discovery = env.Discovery
	return nil
}

// checkHTTPS refuses a CA or client certificate for targets scraped over
// plain http, where it would silently go unused.
func (t *scrapeTargets) checkHTTPS() error {
	if !t.auth.secure {
		return nil
	}
	if t.static == nil && t.scheme != "https" {
		return metadata.Invalid("scheme", t.scheme, "ca or authModes tls is set, which needs scheme: https")
	}
	for _, u := range t.static {
		if !strings.HasPrefix(u, "https://") {
			return metadata.Invalid("targets", shown(u), "ca or authModes tls is set, which needs https:// targets")
		}
	}
	return nil
}

// subject names the targets in metric names and logs.
func (t *scrapeTargets) subject() string {
	if t.static == nil {
		return t.namespace + "-" + t.service
	}
	host := t.static[0]
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	if i := strings.IndexByte(host, '/'); i >= 0 {
		host = host[:i]
	}
	if len(t.static) > 1 {
		return fmt.Sprintf("%s-and-%d-more", host, len(t.static)-1)
	}
	return host
}

// resolve turns a Service's endpoints into targets: only ready ones, on
// the configured port. notReady counts the endpoints left out.
func (t *scrapeTargets) resolve(eps []ServiceEndpoint) (ts []target, notReady int, err error) {
	seen := map[string]bool{}
	for _, ep := range eps {
		if !ep.Ready {
			notReady++
			continue
		}
		port, err := t.portOf(ep)
		if err != nil {
			return nil, 0, err
		}
		hp := net.JoinHostPort(ep.IP, strconv.Itoa(int(port)))
		if seen[hp] { // an endpoint may sit in two slices while they are rebalanced
			continue
		}
		seen[hp] = true
		name := ep.Pod
		if name == "" {
			name = hp
		}
		ts = append(ts, target{name: name, url: t.scheme + "://" + hp + t.path})
	}
	slices.SortFunc(ts, func(a, b target) int { return strings.Compare(a.name, b.name) })
	return ts, notReady, nil
}

func (t *scrapeTargets) portOf(ep ServiceEndpoint) (int32, error) {
	if n, err := strconv.Atoi(t.port); err == nil {
		return int32(n), nil // a number need not be a Service port: metrics may have their own
	}
	if t.port != "" {
		if p, ok := ep.Ports[t.port]; ok {
			return p, nil
		}
		return 0, fmt.Errorf("service %s/%s has no port named %q", t.namespace, t.service, t.port)
	}
	if len(ep.Ports) != 1 {
		return 0, fmt.Errorf("service %s/%s has %d ports; set the port key", t.namespace, t.service, len(ep.Ports))
	}
	for _, p := range ep.Ports {
		return p, nil
	}
	return 0, nil
}
