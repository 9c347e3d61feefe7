package scalercmd

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/internal/testredis"
	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// Flags of the suspended scaler. A sample with no failed poll is served up
// to 2 × interval + timeout + 1 s old (1.3 s here); after a failed poll,
// up to --max-staleness. suspendFor exceeds both.
const (
	suspendPoll      = 100 * time.Millisecond
	suspendStaleness = 500 * time.Millisecond
	suspendFor       = 2 * time.Second
)

// TestSuspendedProcessServesNoStaleValue stops the real `scaler serve`
// process (SIGSTOP) for longer than any staleness bound while its Redis
// list grows, then while Redis is down. After SIGCONT the value read before
// the stop is never served: production measures a sample's age on the
// monotonic clock, which kept running while the process was stopped.
func TestSuspendedProcessServesNoStaleValue(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs the scaler as a process and suspends it for 4 s")
	}
	rs := testredis.Start(t, testredis.Config{})
	rs.Do("RPUSH", "jobs", 1, 2, 3)
	p := startServeProcess(t, "--poll-interval", suspendPoll.String(), "--poll-timeout", suspendPoll.String(),
		"--max-staleness", suspendStaleness.String())
	ref := &pb.ScaledObjectRef{Name: "suspend", Namespace: "t", ScalerMetadata: map[string]string{
		"source": "redis", "address": rs.Addr, "listName": "jobs", "listLength": "1"}}
	spec, err := p.client.GetMetricSpec(t.Context(), ref)
	if err != nil || len(spec.MetricSpecs) != 1 {
		t.Fatalf("GetMetricSpec: %v %v", spec, err)
	}
	name := spec.MetricSpecs[0].MetricName
	read := func() (int64, error) {
		ctx, cancel := context.WithTimeout(t.Context(), suspendFor+5*time.Second)
		defer cancel()
		resp, err := p.client.GetMetrics(ctx, &pb.GetMetricsRequest{ScaledObjectRef: ref, MetricName: name})
		if err != nil {
			return 0, err
		}
		if len(resp.MetricValues) != 1 {
			t.Fatalf("GetMetrics: %d values, want 1", len(resp.MetricValues))
		}
		return resp.MetricValues[0].MetricValue, nil
	}
	if v, err := read(); err != nil || v != 3 {
		t.Fatalf("before the stop: %d, %v; want 3", v, err)
	}

	t.Run("value changed while stopped", func(t *testing.T) {
		reads := p.suspended(t, func() { rs.Do("RPUSH", "jobs", 4, 5, 6, 7) }, read)
		last := checkNotOld(t, reads, 3, 7)
		for deadline := time.Now().Add(5 * time.Second); last.v != 7; {
			if time.Now().After(deadline) {
				t.Fatalf("the new value 7 not served within 5 s after SIGCONT; last %d, %v\n%s", last.v, last.err, p.stderr.String())
			}
			time.Sleep(suspendPoll / 2) // the next poll of the resumed scaler
			v, err := read()
			last = checkNotOld(t, []suspendRead{{v, err}}, 3, 7)
		}
	})
	t.Run("redis down while stopped", func(t *testing.T) {
		if v, err := read(); err != nil || v != 7 {
			t.Fatalf("before the stop: %d, %v; want 7", v, err)
		}
		reads := p.suspended(t, rs.Kill, read)
		for range 10 { // Redis stays down: nothing new can be served
			time.Sleep(suspendPoll / 2)
			v, err := read()
			reads = append(reads, suspendRead{v, err})
		}
		checkNotOld(t, reads, 7, -1)
	})
}

// suspendRead is one GetMetrics answer.
type suspendRead struct {
	v   int64
	err error
}

// checkNotOld fails on any answer that is neither the new value nor
// Unavailable (want -1: no new value exists) and returns the last one.
func checkNotOld(t *testing.T, reads []suspendRead, old, want int64) suspendRead {
	t.Helper()
	allowed := "Unavailable"
	if want >= 0 {
		allowed += " or " + strconv.FormatInt(want, 10)
	}
	for i, r := range reads {
		switch {
		case r.err != nil && status.Code(r.err) != codes.Unavailable:
			t.Errorf("read %d after SIGCONT: %v; want %s", i, r.err, allowed)
		case r.err == nil && r.v == old:
			t.Errorf("read %d after SIGCONT served the value read before the stop, %d; want %s", i, r.v, allowed)
		case r.err == nil && r.v != want:
			t.Errorf("read %d after SIGCONT: %d; want %s", i, r.v, allowed)
		}
	}
	return reads[len(reads)-1]
}

// serveProcess is a running `scaler serve` binary and a client to it.
type serveProcess struct {
	cmd    *exec.Cmd
	stderr *testlog.Buffer
	client pb.ExternalScalerClient
}

// suspended stops the process, runs change, waits suspendFor, sends one
// GetMetrics while still stopped (it queues in the socket), resumes the
// process and reads twice more at once. It returns those three answers.
func (p *serveProcess) suspended(t *testing.T, change func(), read func() (int64, error)) []suspendRead {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	change()
	time.Sleep(suspendFor) // a real process really stopped: no clock to inject
	queued := make(chan suspendRead, 1)
	go func() { v, err := read(); queued <- suspendRead{v, err} }()
	time.Sleep(50 * time.Millisecond) // let the request reach the socket
	if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var reads []suspendRead
	for range 2 {
		v, err := read()
		reads = append(reads, suspendRead{v, err})
	}
	reads = append([]suspendRead{<-queued}, reads...)
	for i, r := range reads {
		t.Logf("read %d after SIGCONT: %d, %v", i, r.v, r.err)
	}
	return reads
}

var servingAddrs = regexp.MustCompile(`msg=serving grpc=(\S+)`)

// startServeProcess runs `scaler serve` with args as a process of its own
// (this test binary re-executed as the scaler, see TestMain) on free
// loopback ports, killed with the test (Pdeathsig) and stopped at cleanup.
func startServeProcess(t *testing.T, args ...string) *serveProcess {
	t.Helper()
	p := &serveProcess{stderr: &testlog.Buffer{}}
	p.cmd = exec.Command(os.Args[0], append([]string{"serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--shutdown-timeout", "2s"}, args...)...)
	// Flags only: no TIDE_* from this environment.
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), runMainEnv + "=1"}
	p.cmd.Stderr = p.stderr
	// A process group of its own, whose parent (this test) is in another
	// group of the session: if the test's own group is orphaned (its
	// launching shell exits) while the scaler is stopped, the kernel
	// would SIGHUP that group; this one stays out of it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGCONT) // a failed test may leave it stopped
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("scaler serve: %v\n%s", err, p.stderr.String())
			}
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			t.Errorf("scaler serve did not stop on SIGTERM; killed (pid %d)", p.cmd.Process.Pid)
			<-done
		}
	})
	var addr string
	if !waitFor(30*time.Second, func() bool {
		if m := servingAddrs.FindStringSubmatch(p.stderr.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	}) {
		t.Fatalf("scaler serve never logged its address:\n%s", p.stderr.String())
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p.client = pb.NewExternalScalerClient(conn)
	return p
}
