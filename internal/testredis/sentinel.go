package testredis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// SentinelConfig describes a sentinel watching one master.
type SentinelConfig struct {
	// Master is the name the sentinel knows the master by.
	Master string
	// MasterPassword is the master's requirepass, if any.
	MasterPassword string
	// Password is the sentinel's own requirepass, if any.
	Password string
}

// Sentinel is a running sentinel.
type Sentinel struct {
	*Server
	cfg SentinelConfig
}

// StartSentinel starts a sentinel (redis-server sentinel.conf --sentinel)
// that monitors master, and waits until it names the master's address.
func StartSentinel(t testing.TB, master *Server, cfg SentinelConfig) *Sentinel {
	t.Helper()
	s := newServer(t, Config{Password: cfg.Password}, func(s *Server, port int) []string {
		conf := filepath.Join(s.Dir, "sentinel.conf")
		lines := fmt.Sprintf("port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\nlogfile \"\"\n"+
			"sentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n",
			port, s.Dir, cfg.Master, master.Port, cfg.Master)
		if cfg.MasterPassword != "" {
			lines += fmt.Sprintf("sentinel auth-pass %s %s\n", cfg.Master, cfg.MasterPassword)
		}
		if cfg.Password != "" {
			lines += "requirepass " + cfg.Password + "\n"
		}
		// Sentinel rewrites its file, so it must be its own and writable.
		if err := os.WriteFile(conf, []byte(lines), 0o600); err != nil {
			t.Fatalf("testredis: %v", err)
		}
		return []string{conf, "--sentinel"}
	})
	s.launchFree()
	sn := &Sentinel{Server: s, cfg: cfg}
	sn.waitMaster(master)
	return sn
}

func (sn *Sentinel) waitMaster(master *Server) {
	sn.t.Helper()
	c := goredis.NewSentinelClient(&goredis.Options{Addr: sn.Addr, Password: sn.cfg.Password, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	want := []string{"127.0.0.1", strconv.Itoa(master.Port)}
	for {
		got, err := c.GetMasterAddrByName(ctx, sn.cfg.Master).Result()
		if err == nil && len(got) == 2 && got[0] == want[0] && got[1] == want[1] {
			return
		}
		select {
		case <-ctx.Done():
			sn.t.Fatalf("testredis: sentinel %s does not name master %s: %v %v", sn.Addr, master.Addr, got, err)
		case <-time.After(retryEvery):
		}
	}
}
