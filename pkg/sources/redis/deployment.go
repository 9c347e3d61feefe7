package redis

import (
	"math"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/tide-scaler/tide/pkg/allow"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Deployment modes (redisType). KEDA has one trigger type per mode (redis,
// redis-cluster, redis-sentinel); Tide has one source and this key.
const (
	modeStandalone = "standalone"
	modeCluster    = "cluster"
	modeSentinel   = "sentinel"
)

// deployment is how to reach one Redis deployment. Every trigger parsed
// with equal connection settings has an equal endpoint and therefore shares
// one client. It holds credentials: never print it (String says only the
// endpoint name).
type deployment struct {
	mode  string
	addrs []string // sorted, unique; the sentinels in sentinel mode
	db    int
	user  string
	pass  string
	// Sentinel mode only.
	master       string
	sentinelUser string
	sentinelPass string
	sec          security
	endpoint     sources.Endpoint
	allow        *allow.List // nil: any node; checked on every dial
}

func (d *deployment) String() string { return d.endpoint.Name }

// parseDeployment reads the connection keys of KEDA's redis scalers.
func parseDeployment(md metadata.Metadata, pol sources.Policy) (*deployment, error) {
	d := &deployment{allow: pol.Upstreams}
	var err error
	if d.mode, err = md.Enum("redisType", modeStandalone, modeStandalone, modeCluster, modeSentinel); err != nil {
		return nil, err
	}
	if d.addrs, err = parseAddresses(md, d.mode, pol); err != nil {
		return nil, err
	}
	db, err := md.Int("databaseIndex", 0, 0)
	switch {
	case err != nil:
		return nil, err
	case db > math.MaxInt32:
		return nil, metadata.Invalid("databaseIndex", md.String("databaseIndex", ""), "too large")
	case d.mode == modeCluster && db != 0:
		return nil, metadata.Invalid("databaseIndex", md.String("databaseIndex", ""), "Redis Cluster has only database 0")
	}
	d.db = int(db)
	creds := []struct {
		key string
		dst *string
	}{{"username", &d.user}, {"password", &d.pass}, {"sentinelUsername", &d.sentinelUser}, {"sentinelPassword", &d.sentinelPass}}
	for _, c := range creds {
		if *c.dst, err = pol.Secret(md, c.key); err != nil {
			return nil, err
		}
	}
	master, masterKey := plain(md, "sentinelMaster")
	d.master = master
	switch {
	case d.mode == modeSentinel && master == "":
		return nil, &metadata.ConfigError{Key: "sentinelMaster", Reason: "is required when redisType is sentinel"}
	case d.mode != modeSentinel && master != "":
		return nil, metadata.Invalid(masterKey, master, "needs redisType: sentinel")
	case d.mode != modeSentinel && (d.sentinelUser != "" || d.sentinelPass != ""):
		return nil, metadata.Invalid("redisType", d.mode, "sentinelUsername or sentinelPassword is set: set redisType: sentinel to use them")
	}
	if d.sec, err = parseSecurity(md, pol, d.user, d.pass, d.sentinelUser, d.sentinelPass); err != nil {
		return nil, err
	}
	d.endpoint = endpointOf(d)
	return d, nil
}

// endpointOf names the deployment. The key holds everything that shapes the
// client, with a fingerprint in place of secrets; the name holds no
// credential and is safe for logs and metric labels.
func endpointOf(d *deployment) sources.Endpoint {
	list := strings.Join(d.addrs, ",")
	db := strconv.Itoa(d.db)
	key := strings.Join([]string{
		"redis",
		"mode=" + d.mode,
		"addrs=" + list,
		"db=" + db,
		"user=" + strconv.Quote(d.user),
		"master=" + strconv.Quote(d.master),
		"sentinelUser=" + strconv.Quote(d.sentinelUser),
		d.sec.describe(),
	}, "|")
	var name string
	switch d.mode {
	case modeCluster:
		name = "redis-cluster://" + list
	case modeSentinel:
		name = "redis-sentinel://" + list + "/" + d.master + "/" + db
	default:
		name = "redis://" + list + "/" + db
	}
	return sources.Endpoint{Key: key, Name: name}
}

// plain returns the value of key, or of keyFromEnv (KEDA resolves
// environment references before calling us), and the key it came from, for
// error messages.
func plain(md metadata.Metadata, key string) (string, string) {
	if v := strings.TrimSpace(md[key]); v != "" {
		return v, key
	}
	if v := strings.TrimSpace(md[key+"FromEnv"]); v != "" {
		return v, key + "FromEnv"
	}
	return "", key
}

// parseAddresses reads exactly one of address, addresses, host or hosts
// (each may be a comma list; host and hosts take their ports from port or
// ports: one port for all hosts, or one per host). The result is sorted and
// unique. Standalone mode takes exactly one address: several nodes without
// redisType are a cluster or sentinels the user forgot to declare, and
// talking to just one of them would read the wrong data.
func parseAddresses(md metadata.Metadata, mode string, pol sources.Policy) ([]string, error) {
	type setting struct{ key, val string }
	var set []setting
	for _, k := range []string{"address", "addresses", "host", "hosts"} {
		if v, from := plain(md, k); v != "" {
			set = append(set, setting{from, v})
		}
	}
	if len(set) == 0 {
		return nil, &metadata.ConfigError{Key: "address", Reason: "is required (or addresses, or host and port)"}
	}
	if len(set) > 1 {
		return nil, metadata.Invalid(set[1].key, set[1].val,
			"%s is also set: set only one of address, addresses, host and hosts", set[0].key)
	}
	s := set[0]
	var addrs []string
	var err error
	if base := strings.TrimSuffix(s.key, "FromEnv"); base == "address" || base == "addresses" {
		addrs, err = checkAddresses(s.key, splitList(s.val))
	} else {
		addrs, err = joinHostsPorts(md, s.key, splitList(s.val))
	}
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		if err := pol.CheckUpstream(s.key, a); err != nil {
			return nil, err
		}
	}
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	switch {
	case len(addrs) == 0:
		return nil, metadata.Invalid(s.key, s.val, "lists no address")
	case mode == modeStandalone && len(addrs) > 1:
		return nil, metadata.Invalid(s.key, s.val,
			"lists %d nodes: set redisType to cluster or sentinel (standalone takes one address)", len(addrs))
	}
	return addrs, nil
}

// checkAddresses requires host:port with a port in 1-65535, because go-redis
// would only fail at dial time, with a less clear error.
func checkAddresses(key string, addrs []string) ([]string, error) {
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || !validPort(port) {
			return nil, metadata.Invalid(key, a, "want host:port")
		}
	}
	return addrs, nil
}

func joinHostsPorts(md metadata.Metadata, hostKey string, hosts []string) ([]string, error) {
	port, portKey := plain(md, "port")
	if ports, portsKey := plain(md, "ports"); ports != "" {
		if port != "" {
			return nil, metadata.Invalid(portsKey, ports, "%s is also set: set only one", portKey)
		}
		port, portKey = ports, portsKey
	}
	if port == "" {
		return nil, &metadata.ConfigError{Key: "port", Reason: "is required with " + hostKey}
	}
	ports := splitList(port)
	if len(ports) != 1 && len(ports) != len(hosts) {
		return nil, metadata.Invalid(portKey, port, "want one port, or one per host (%d)", len(hosts))
	}
	out := make([]string, len(hosts))
	for i, h := range hosts {
		p := ports[0]
		if len(ports) > 1 {
			p = ports[i]
		}
		if !validPort(p) {
			return nil, metadata.Invalid(portKey, p, "want a port number 1-65535")
		}
		if strings.ContainsAny(h, ":/ ") && net.ParseIP(h) == nil {
			return nil, metadata.Invalid(hostKey, h, "want a host name or IP address")
		}
		out[i] = net.JoinHostPort(h, p)
	}
	return out, nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// splitList splits a comma list into trimmed, non-empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
