package testredis

import (
	"errors"
	"syscall"
	"testing"
)

// TestStartRestartStop: a server answers, restarts on its port with an
// empty dataset, and no process is left once its test's cleanups ran.
func TestStartRestartStop(t *testing.T) {
	var pids []int
	t.Run("server", func(t *testing.T) {
		s := Start(t, Config{})
		s.Do("SET", "k", "v")
		pids = append(pids, s.PID())
		port := s.Port
		s.Restart()
		pids = append(pids, s.PID())
		if s.Port != port {
			t.Errorf("restarted on port %d, want %d", s.Port, port)
		}
		if v := s.Do("GET", "k"); v != nil {
			t.Errorf("GET after restart = %v, want nil (nothing persisted)", v)
		}
	})
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("redis-server %d still exists after cleanup (kill 0: %v)", pid, err)
		}
	}
}
