package testredis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers for failover tests: crash a server, start replicas, a cluster
// with replicas, and read what a server sees of its clients and roles.

// Kill crashes the server with SIGKILL and waits until the process is gone:
// no shutdown, no goodbye to clients or replicas. Restart starts it again.
func (s *Server) Kill() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Info returns the value of field in INFO section (e.g. "clients",
// "connected_clients"), read with the helper's Client.
func (s *Server) Info(ctx context.Context, section, field string) (string, error) {
	txt, err := s.Client().Info(ctx, section).Result()
	if err != nil {
		return "", fmt.Errorf("%s: INFO %s: %w", s.Addr, section, err)
	}
	for _, line := range strings.Split(txt, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%s: INFO %s has no %s", s.Addr, section, field)
}

// ConnectedClients is INFO clients' connected_clients: every client
// connection the server holds, the helper's own (Client) included.
func (s *Server) ConnectedClients(ctx context.Context) (int, error) {
	v, err := s.Info(ctx, "clients", "connected_clients")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// StartReplica starts a server replicating master (--replicaof, with
// masterauth from the master's Config.Password) and waits until its link
// to the master is up and the initial sync is done.
func StartReplica(t testing.TB, master *Server, cfg Config) *Server {
	t.Helper()
	cfg.Args = append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}, cfg.Args...)
	if master.cfg.Password != "" {
		cfg.Args = append(cfg.Args, "--masterauth", master.cfg.Password)
	}
	r := Start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := r.WaitInfo(ctx, "replication", "master_link_status", "up"); err != nil {
		t.Fatalf("testredis: replica %s of %s: %v", r.Addr, master.Addr, err)
	}
	return r
}

// WaitInfo waits until INFO section's field reads want.
func (s *Server) WaitInfo(ctx context.Context, section, field, want string) error {
	var got string
	var err error
	for {
		got, err = s.Info(ctx, section, field)
		if err == nil && got == want {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %s is %q (%v), want %q: %w", s.Addr, field, got, err, want, ctx.Err())
		case <-time.After(retryEvery):
		}
	}
}

// StartReplicatedCluster starts a Redis Cluster of masters masters with one
// replica each (redis-cli --cluster create --cluster-replicas 1), with the
// given cluster-node-timeout, and waits until every node reports the
// cluster healthy and complete and every replica's link is up. Nodes holds
// the masters first, then the replicas, in redis-cli's assignment; use
// ReplicaOf to pair them.
func StartReplicatedCluster(t testing.TB, masters int, nodeTimeout time.Duration) *Cluster {
	t.Helper()
	c := startCluster(t, masters, 1, nodeTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, s := range c.Nodes {
		role, err := s.Info(ctx, "replication", "role")
		if err != nil {
			t.Fatalf("testredis: %v", err)
		}
		if role == "slave" {
			if err := s.WaitInfo(ctx, "replication", "master_link_status", "up"); err != nil {
				t.Fatalf("testredis: cluster replica: %v", err)
			}
		}
	}
	return c
}

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, flags, master string
}

// nodes reads CLUSTER NODES from via.
func nodes(ctx context.Context, via *Server) ([]clusterNode, error) {
	txt, err := via.Client().ClusterNodes(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("%s: CLUSTER NODES: %w", via.Addr, err)
	}
	var out []clusterNode
	for _, line := range strings.Split(strings.TrimSpace(txt), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@") // ip:port@cport[,hostname]
		out = append(out, clusterNode{id: f[0], addr: addr, flags: f[2], master: f[3]})
	}
	return out, nil
}

// ReplicaOf returns the node that replicates master, asking via (a live
// node).
func (c *Cluster) ReplicaOf(ctx context.Context, master, via *Server) (*Server, error) {
	ns, err := nodes(ctx, via)
	if err != nil {
		return nil, err
	}
	var id string
	for _, n := range ns {
		if n.addr == master.Addr {
			id = n.id
		}
	}
	for _, n := range ns {
		if id != "" && n.master == id {
			for _, s := range c.Nodes {
				if s.Addr == n.addr {
					return s, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no replica of %s (%s) in %+v", master.Addr, id, ns)
}

// WaitMaster waits until every live node (PID != 0) reports the cluster
// ok and sees s as a master that is not failing: a promotion has
// converged.
func (c *Cluster) WaitMaster(ctx context.Context, s *Server) error {
	for _, n := range c.Nodes {
		if n.PID() == 0 {
			continue
		}
		var last string
		for {
			ok, why := masterOK(ctx, n, s)
			if ok {
				break
			}
			last = why
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %s does not see %s as a healthy master: %s: %w", n.Addr, s.Addr, last, ctx.Err())
			case <-time.After(retryEvery):
			}
		}
	}
	return nil
}

func masterOK(ctx context.Context, via, s *Server) (bool, string) {
	info, err := via.Client().ClusterInfo(ctx).Result()
	if err != nil || !strings.Contains(info, "cluster_state:ok") {
		return false, fmt.Sprint(info, err)
	}
	ns, err := nodes(ctx, via)
	if err != nil {
		return false, err.Error()
	}
	for _, n := range ns {
		if n.addr == s.Addr {
			fl := n.flags
			return strings.Contains(fl, "master") && !strings.Contains(fl, "fail"), "flags " + fl
		}
	}
	return false, "unknown node"
}
