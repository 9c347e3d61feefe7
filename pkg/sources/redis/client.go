package redis

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/tide-scaler/tide/pkg/allow"
)

// Client settings shared by every mode.
const (
	// poolSize bounds connections per node. A poll uses one (pipelines)
	// or one per master (SCAN); go-redis also fails fast, without dialing,
	// after this many consecutive dial errors until a background probe
	// (once a second) gets through, so it is not set lower.
	poolSize = 10
	// dialTimeout bounds one dial when the poll's context has no earlier
	// deadline.
	dialTimeout = 5 * time.Second
	// idleTimeout closes pooled connections unused for longer than many
	// poll intervals, so a scaler does not hold connections to
	// deployments nobody asks about any more.
	idleTimeout = 5 * time.Minute
)

// dialerFor dials plain TCP, or TLS with cfg, only where upstreams allows
// (every node: cluster and sentinel name more than the trigger does).
func dialerFor(cfg *tls.Config, upstreams *allow.List) func(ctx context.Context, network, addr string) (net.Conn, error) {
	dial := upstreams.DialContext(&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second})
	if cfg == nil {
		return dial
	}
	// As tls.Dialer does, but over the checked dial: the handshake honours
	// ctx (go-redis's default TLS dial does not) and ServerName comes from
	// each node's address.
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := cfg
		if c.ServerName == "" {
			c = cfg.Clone()
			c.ServerName, _, _ = net.SplitHostPort(addr)
		}
		conn := tls.Client(raw, c)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}
}

// newClient builds the go-redis client of d: a Client, a ClusterClient or
// a failover Client behind sentinels. Every mode uses RESP2 with AUTH, which
// every Redis and proxy speaks (RESP3 adds nothing to plain reads), no
// CLIENT SETINFO, and the context's deadline on every socket operation. One
// retry on a fresh connection hides a pooled connection the server closed
// while idle; one dial attempt per try, because anything slower is the next
// poll's job.
func newClient(d *deployment, hook goredis.Hook) (goredis.UniversalClient, *goredis.ClusterClient) {
	dial := dialerFor(d.sec.tls, d.allow)
	switch d.mode {
	case modeCluster:
		c := goredis.NewClusterClient(&goredis.ClusterOptions{
			Addrs: d.addrs, Username: d.user, Password: d.pass,
			Dialer: dial, Protocol: 2, DisableIdentity: true,
			MaxRetries: 1, DialerRetries: 1, DialTimeout: dialTimeout, ContextTimeoutEnabled: true,
			PoolSize: poolSize, ConnMaxIdleTime: idleTimeout,
		})
		// Node clients carry the hook, so each per-node pipeline of a
		// cluster pipeline counts as the round trip it is.
		c.OnNewNode(func(n *goredis.Client) { n.AddHook(hook) })
		return c, c
	case modeSentinel:
		c := goredis.NewFailoverClient(&goredis.FailoverOptions{
			MasterName: d.master, SentinelAddrs: d.addrs,
			SentinelUsername: d.sentinelUser, SentinelPassword: d.sentinelPass,
			Username: d.user, Password: d.pass, DB: d.db,
			Dialer: dial, Protocol: 2, DisableIdentity: true,
			MaxRetries: 1, DialerRetries: 1, DialTimeout: dialTimeout, ContextTimeoutEnabled: true,
			PoolSize: poolSize, ConnMaxIdleTime: idleTimeout,
		})
		c.AddHook(hook)
		return c, nil
	default:
		c := goredis.NewClient(&goredis.Options{
			Addr: d.addrs[0], Username: d.user, Password: d.pass, DB: d.db,
			Dialer: dial, Protocol: 2, DisableIdentity: true,
			MaxRetries: 1, DialerRetries: 1, DialTimeout: dialTimeout, ContextTimeoutEnabled: true,
			PoolSize: poolSize, ConnMaxIdleTime: idleTimeout,
		})
		c.AddHook(hook)
		return c, nil
	}
}
