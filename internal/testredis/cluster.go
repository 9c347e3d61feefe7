package testredis

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
	t     testing.TB
}

// StartCluster starts masters cluster-enabled servers (each with its own
// free bus port, Redis 7's cluster-port), joins them with redis-cli
// --cluster create, and waits until every node reports cluster_state:ok
// and knows every other.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	return startCluster(t, masters, 0, 5*time.Second)
}

// startCluster starts masters masters with replicas replicas each and the
// given cluster-node-timeout, creates the cluster with redis-cli and waits
// until every node reports it healthy and complete.
func startCluster(t testing.TB, masters, replicas int, nodeTimeout time.Duration) *Cluster {
	t.Helper()
	requireBinary(t, "redis-cli")
	c := &Cluster{t: t}
	n := masters * (1 + replicas)
	addrs := make([]string, n)
	for i := range n {
		s := newServer(t, Config{}, func(s *Server, port int) []string {
			return append(s.baseArgs(port), "--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.Itoa(int(nodeTimeout.Milliseconds())),
				"--cluster-port", strconv.Itoa(freePort(t)))
		})
		s.launchFree()
		c.Nodes = append(c.Nodes, s)
		addrs[i] = s.Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("testredis: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK(ctx, masters, n)
	return c
}

// waitOK waits until every node reports the cluster healthy, complete, with
// nodes known nodes and masters masters.
func (c *Cluster) waitOK(ctx context.Context, masters, nodes int) {
	c.t.Helper()
	want := []string{"cluster_state:ok", "cluster_slots_assigned:16384",
		"cluster_known_nodes:" + strconv.Itoa(nodes), "cluster_size:" + strconv.Itoa(masters)}
	for _, n := range c.Nodes {
		var last string
		for {
			info, err := n.Client().ClusterInfo(ctx).Result()
			last = fmt.Sprint(info, err)
			if err == nil && containsAll(info, want) {
				break
			}
			select {
			case <-ctx.Done():
				c.t.Fatalf("testredis: cluster node %s not ready: %s", n.Addr, last)
			case <-time.After(retryEvery):
			}
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// Addrs are the nodes' addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// Client returns a cluster client for setting up data; it is closed at
// cleanup.
func (c *Cluster) Client() *goredis.ClusterClient {
	cl := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs(), Protocol: 2, DisableIdentity: true})
	c.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// NodeOf returns the master that serves key's slot.
func (c *Cluster) NodeOf(ctx context.Context, key string) (*Server, error) {
	slot, err := c.Nodes[0].Client().ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	shards, err := c.Nodes[0].Client().ClusterShards(ctx).Result()
	if err != nil {
		return nil, err
	}
	for _, sh := range shards {
		for _, r := range sh.Slots {
			if r.Start > slot || slot > r.End {
				continue
			}
			for _, n := range sh.Nodes {
				for _, s := range c.Nodes {
					if n.Role == "master" && int(n.Port) == s.Port {
						return s, nil
					}
				}
			}
		}
	}
	return nil, fmt.Errorf("no node serves slot %d of %q", slot, key)
}
