package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// config is the size and length of one run.
type config struct {
	root                string // the repository (holds cmd/scaler)
	triggers            int
	streams             int
	conns               int // client connections the streams are spread over
	queries             int // distinct queries per source
	duration            time.Duration
	period              time.Duration // each trigger's GetMetrics period
	settle              time.Duration // wait between the streams opening and the window
	shutdownTimeout     time.Duration
	maxStreamsPerClient int
}

func defaults() config {
	return config{triggers: 10000, streams: 10000, conns: 4, queries: 20, duration: time.Minute,
		period: 15 * time.Second, shutdownTimeout: 10 * time.Second, maxStreamsPerClient: 20000}
}

// quick is the -quick size, which load_test.go runs end to end.
func (c config) quick() config {
	c.triggers, c.streams, c.duration = 500, 500, 10*time.Second
	return c
}

func main() {
	cfg := defaults()
	quick := flag.Bool("quick", false, "small run: 500 triggers, 500 streams, 10 s (sizes given explicitly still win)")
	flag.StringVar(&cfg.root, "root", "", "repository root (default: found upwards from the working directory)")
	flag.IntVar(&cfg.triggers, "triggers", cfg.triggers, "triggers (ScaledObjects), split over kafka, redis and inference")
	flag.IntVar(&cfg.streams, "streams", cfg.streams, "concurrent StreamIsActive streams")
	flag.IntVar(&cfg.conns, "conns", cfg.conns, "client connections the streams are spread over")
	flag.IntVar(&cfg.queries, "queries", cfg.queries, "distinct queries per source (consumer groups, lists, models)")
	flag.DurationVar(&cfg.duration, "duration", cfg.duration, "length of the measured window")
	flag.DurationVar(&cfg.period, "period", cfg.period, "how often each trigger is asked GetMetrics (the HPA's sync period)")
	flag.DurationVar(&cfg.settle, "settle", 0, "wait this long after the streams open before the window, so it measures their steady state (repeats back off from --stream-repeat to 60 s over the first ~75 s)")
	flag.DurationVar(&cfg.shutdownTimeout, "shutdown-timeout", cfg.shutdownTimeout, "the scaler's --shutdown-timeout: every stream must end OK within it")
	flag.IntVar(&cfg.maxStreamsPerClient, "max-streams-per-client", cfg.maxStreamsPerClient, "the scaler's --max-streams-per-client")
	flag.Parse()
	if *quick {
		given := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { given[f.Name] = true })
		q := cfg.quick()
		for name, set := range map[string]func(){
			"triggers": func() { cfg.triggers = q.triggers }, "streams": func() { cfg.streams = q.streams },
			"duration": func() { cfg.duration = q.duration },
		} {
			if !given[name] {
				set()
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// findRoot walks up from the working directory to Tide's go.mod.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			first := sc.Scan() && strings.TrimSpace(sc.Text()) == "module github.com/tide-scaler/tide"
			f.Close()
			if first {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/tide-scaler/tide above the working directory; use -root")
		}
		dir = parent
	}
}

func (c config) validate() error {
	if c.triggers < 3 || c.streams < 1 || c.conns < 1 || c.queries < 1 || c.duration <= 0 || c.period <= 0 || c.shutdownTimeout <= 0 {
		return fmt.Errorf("want at least 3 triggers, 1 stream, 1 connection, 1 query and positive durations")
	}
	if per := (c.streams + c.conns - 1) / c.conns; c.maxStreamsPerClient > 0 && per > c.maxStreamsPerClient {
		return fmt.Errorf("%d streams over %d connections is %d per connection, above -max-streams-per-client %d: use more -conns",
			c.streams, c.conns, per, c.maxStreamsPerClient)
	}
	return nil
}

// run does one whole load run and writes the report to out; progress goes
// to progress. It fails if the run could not be done or a check failed.
func run(ctx context.Context, cfg config, out, progress io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.root == "" {
		if cfg.root, err = findRoot(); err != nil {
			return err
		}
	}
	say := func(format string, a ...any) {
		fmt.Fprintf(progress, "%s load: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	dir, err := os.MkdirTemp("", "tide-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r := &result{cfg: cfg}

	say("building ./cmd/scaler in %s", cfg.root)
	t0 := time.Now()
	bin, err := buildScaler(ctx, cfg.root, dir)
	if err != nil {
		return err
	}
	r.build = time.Since(t0)
	say("starting kafka (kfake, 3 brokers), redis-server and %d fake vLLM models", cfg.queries)
	up, err := startUpstreams(ctx, dir, cfg.queries)
	if err != nil {
		return err
	}
	defer up.close()
	sc, err := startScaler(bin, dir, []string{
		"--max-triggers", strconv.Itoa(cfg.triggers + 1000),
		"--max-streams-per-client", strconv.Itoa(cfg.maxStreamsPerClient),
		"--shutdown-timeout", cfg.shutdownTimeout.String(),
	})
	if err != nil {
		return err
	}
	defer func() {
		select {
		case <-sc.done:
		default:
			sc.kill()
		}
		if err != nil {
			err = fmt.Errorf("%w (scaler log: %s)", err, sc.logPath)
		}
	}()
	say("scaler pid %d serving gRPC on %s, HTTP on %s", sc.cmd.Process.Pid, sc.grpcAddr, sc.httpAddr)
	if r.readings[0], err = sc.read(ctx); err != nil {
		return err
	}

	conns := make([]*grpc.ClientConn, cfg.conns)
	for i := range conns {
		if conns[i], err = grpc.NewClient(sc.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return err
		}
		defer conns[i].Close()
	}
	ts := up.triggers(cfg.triggers)

	say("warm-up: GetMetrics of %d triggers, then %d streams", len(ts), cfg.streams)
	t0 = time.Now()
	failed, werr := warm(ctx, newScalerClient(conns[0]), ts)
	r.checks = append(r.checks, check{"every trigger answers its first GetMetrics with the right value", failed == 0, errNote(failed, werr)})
	r.warmTriggers = time.Since(t0)
	t0 = time.Now()
	streams := openStreams(conns, ts, cfg.streams, 2*time.Minute)
	defer streams.cancel()
	r.warmStreams = time.Since(t0)
	est := int(streams.established.Load())
	r.checks = append(r.checks, check{"every stream receives its first message", est == cfg.streams,
		fmt.Sprintf("%d of %d; %d rejected with ResourceExhausted", est, cfg.streams, streams.rejected.Load())})
	if r.readings[1], err = sc.read(ctx); err != nil {
		return err
	}
	r.checks = append(r.checks, check{"the scaler counts every stream open", int(r.readings[1].streams) == cfg.streams,
		fmt.Sprintf("%.0f", r.readings[1].streams)})

	if cfg.settle > 0 {
		say("settling for %s", cfg.settle)
		select {
		case <-time.After(cfg.settle):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	say("measuring for %s", cfg.duration)
	msgs0 := streams.messages.Load()
	before, err := sc.scrape(ctx)
	if err != nil {
		return err
	}
	t0 = time.Now()
	cpu0 := takeCPU(sc.cmd.Process.Pid, up.redis.cmd.Process.Pid)
	r.gm, r.health = pace(ctx, conns[0], ts, cfg.period, cfg.duration)
	r.cpu = cpuShares(cpu0, takeCPU(sc.cmd.Process.Pid, up.redis.cmd.Process.Pid), runtime.NumCPU())
	r.window = time.Since(t0)
	r.windowMsgs = streams.messages.Load() - msgs0
	if r.readings[2], err = sc.read(ctx); err != nil {
		return err
	}
	r.polls = pollDeltas(before, r.readings[2].metrics)
	r.checks = append(r.checks,
		check{"GetMetrics under load: no errors, no wrong values", r.gm.errs == 0 && r.gm.wrong == 0 && len(r.gm.d) > 0,
			errNote(r.gm.errs+r.gm.wrong, r.gm.sample)},
		check{"health checks under load: all SERVING", r.health.errs == 0 && r.health.wrong == 0 && len(r.health.d) > 0,
			errNote(r.health.errs+r.health.wrong, r.health.sample)})
	if ctx.Err() != nil {
		return ctx.Err()
	}

	early := streams.endsSoFar()
	r.checks = append(r.checks, check{"no stream ends before SIGTERM", len(early) == 0, fmt.Sprintf("%d ended", len(early))})
	say("SIGTERM")
	r.streamMsgs = streams.messages.Load()
	r.drain = sigterm(sc, streams, cfg, len(early))
	d := r.drain
	r.checks = append(r.checks,
		check{"SIGTERM: every stream ends with status OK within --shutdown-timeout",
			d.endedOK == cfg.streams && d.late == 0 && d.open == 0,
			fmt.Sprintf("%d OK, %d otherwise, %d late, %d open", d.endedOK, sumCounts(d.endedOther), d.late, d.open)},
		check{"SIGTERM: the scaler exits 0", d.exitCode == 0, fmt.Sprintf("exit code %d after %s", d.exitCode, d.exitAfter.Round(time.Millisecond))})

	r.write(out)
	if bad := r.failed(); len(bad) > 0 {
		return fmt.Errorf("%d check(s) failed, first: %s", len(bad), bad[0].what)
	}
	return nil
}

func errNote(n int, err error) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d failed; e.g. %v", n, err)
}

// sigterm sends SIGTERM and classifies how every stream ends; early streams
// had already ended before it.
func sigterm(sc *scaler, streams *streamSet, cfg config, early int) drain {
	d := drain{streams: cfg.streams, endedOther: map[string]int{}, exitCode: -1}
	grace := cfg.shutdownTimeout + 5*time.Second // to tell late from never
	at := time.Now()
	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.endedOther["SIGTERM failed: "+err.Error()] = cfg.streams
		return d
	}
	streams.waitAll(grace)
	select {
	case <-sc.done:
	case <-time.After(time.Until(at.Add(grace))):
		sc.kill()
	}
	if st := sc.state; st != nil && st.Exited() {
		d.exitCode = st.ExitCode()
		d.exitAfter = sc.exited.Sub(at)
	}
	ends := streams.endsSoFar()
	for i, e := range ends {
		switch {
		case i < early:
			d.endedOther["before SIGTERM: "+describe(e.err)]++
		case !e.ok():
			d.endedOther[describe(e.err)]++
		case e.at.Sub(at) > cfg.shutdownTimeout:
			d.late++
		default:
			d.endedOK++
		}
		if i >= early {
			d.lastStreamAt = max(d.lastStreamAt, e.at.Sub(at))
		}
	}
	d.open = cfg.streams - len(ends)
	return d
}
