package testredis

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Timeouts of the helpers. They bound waiting on conditions; nothing here
// sleeps for a fixed time.
const (
	readyTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
	retryEvery   = 10 * time.Millisecond
)

// Config describes one redis-server.
type Config struct {
	// Args are extra redis-server arguments, e.g. "--requirepass", "pw".
	Args []string
	// Password authenticates Client when Args set requirepass.
	Password string
	// TLS, when set, makes the server speak TLS only, with these
	// certificates; clients must present one unless TLSOptionalClients.
	TLS                *Certs
	TLSOptionalClients bool
}

// Server is one running redis-server.
type Server struct {
	// Addr is "127.0.0.1:port".
	Addr string
	Port int
	// Dir holds the server's files and its log, redis.log.
	Dir string

	t    testing.TB
	cfg  Config
	args func(port int) []string // the full argument list

	mu     sync.Mutex
	proc   *process
	client *goredis.Client
}

// process is one run of the server binary.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

// Start starts a redis-server on a free loopback port and waits until it
// answers PING.
func Start(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := newServer(t, cfg, func(s *Server, port int) []string { return s.baseArgs(port) })
	s.launchFree()
	return s
}

func newServer(t testing.TB, cfg Config, args func(s *Server, port int) []string) *Server {
	t.Helper()
	requireBinary(t, "redis-server")
	s := &Server{t: t, cfg: cfg, Dir: t.TempDir()}
	s.args = func(port int) []string { return args(s, port) }
	t.Cleanup(s.Stop)
	return s
}

// baseArgs are the arguments every server gets: loopback only, no
// persistence, no daemon, files in Dir.
func (s *Server) baseArgs(port int) []string {
	args := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--dir", s.Dir, "--logfile", "", "--protected-mode", "no"}
	p := strconv.Itoa(port)
	if c := s.cfg.TLS; c != nil {
		auth := "yes"
		if s.cfg.TLSOptionalClients {
			auth = "no"
		}
		args = append(args, "--port", "0", "--tls-port", p,
			"--tls-cert-file", c.ServerCertFile, "--tls-key-file", c.ServerKeyFile,
			"--tls-ca-cert-file", c.CAFile, "--tls-auth-clients", auth)
	} else {
		args = append(args, "--port", p)
	}
	return append(args, s.cfg.Args...)
}

// launchFree starts the server on a fresh free port (see tryLaunchFree) and
// fails the test when it cannot.
func (s *Server) launchFree() {
	s.t.Helper()
	if err := s.tryLaunchFree(); err != nil {
		s.t.Fatalf("testredis: cannot start redis-server: %v", err)
	}
}

// tryLaunchFree starts the server on a fresh free port, retrying with
// another port when the chosen one was taken between picking and binding.
func (s *Server) tryLaunchFree() error {
	var err error
	for range 5 {
		s.Port = freePort(s.t)
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
		if err = s.launch(); err == nil {
			return nil
		}
	}
	return err
}

// launch starts the process on s.Port and waits until it is ready.
func (s *Server) launch() error {
	logf, err := os.OpenFile(filepath.Join(s.Dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("redis-server", s.args(s.Port)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = s.Dir, logf, logf
	orphanProof(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		s.Stop()
		return fmt.Errorf("%s: %w\n%s", s.Addr, err, s.logTail())
	}
	return nil
}

// waitReady waits until the server answers PING (any reply: a server that
// wants a password answers NOAUTH, and is up).
func (s *Server) waitReady(p *process) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return errors.New("redis-server exited during startup")
		default:
		}
		if last = ping(s.Addr, s.clientTLS()); last == nil {
			return nil
		}
		select {
		case <-p.done:
		case <-time.After(retryEvery):
		}
	}
	return fmt.Errorf("not answering PING after %s: %v", readyTimeout, last)
}

// ping sends PING and reads one reply line.
func ping(addr string, cfg *tls.Config) error {
	d := &net.Dialer{Timeout: time.Second}
	var c net.Conn
	var err error
	if cfg != nil {
		c, err = tls.DialWithDialer(d, "tcp", addr, cfg)
	} else {
		c, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line[0] != '+' && line[0] != '-' {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// Stop stops the server: SIGTERM, then SIGKILL after stopTimeout. It is
// idempotent and registered with t.Cleanup by Start.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopTimeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// PID is the process id of the running server, 0 when it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Restart stops the server and starts it again on the same port (with an
// empty dataset: nothing is persisted).
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.launch(); err != nil {
		s.t.Fatalf("testredis: restart: %v", err)
	}
}

// Client returns a client for setting up data, authenticated with
// Config.Password. It is shared and closed at cleanup.
func (s *Server) Client() *goredis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		s.client = goredis.NewClient(&goredis.Options{Addr: s.Addr, Password: s.cfg.Password,
			TLSConfig: s.clientTLS(), Protocol: 2, DisableIdentity: true})
		c := s.client
		s.t.Cleanup(func() { _ = c.Close() })
	}
	return s.client
}

// Do runs one command with Client and fails the test on error.
func (s *Server) Do(args ...any) any {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.Client().Do(ctx, args...).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		s.t.Fatalf("testredis: %v: %v", args, err)
	}
	return v
}

func (s *Server) clientTLS() *tls.Config {
	if s.cfg.TLS == nil {
		return nil
	}
	return s.cfg.TLS.ClientTLS(s.t)
}

// logTail is the end of the server's log, for failure messages.
func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testredis: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// requireBinary fails the test when a Redis binary is missing, saying how
// to install it: skipping would let CI pass without testing anything.
func requireBinary(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("testredis: %s not found on PATH: install Debian's redis-server and redis-tools "+
			"(scripts/deps.sh, or apt-get install -y redis-server redis-tools) and run go test again", name)
	}
}
