package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// upstreamCounts is the upstream's own count of what it was asked: Kafka
// requests by API from the brokers, Redis commands from INFO commandstats.
type upstreamCounts struct {
	requests map[string]int
	conns    int
}

func (c driveConfig) upstream(ctx context.Context) (upstreamCounts, error) {
	if c.suite == "redis" {
		return redisCounts(ctx, c.redisAddr)
	}
	var bc brokerCounts
	if err := fetchJSON(ctx, c.control+"/counts", &bc); err != nil {
		return upstreamCounts{}, err
	}
	return upstreamCounts{requests: bc.Requests, conns: bc.Conns}, nil
}

// redisCounts reads INFO commandstats and connected_clients. The INFO calls
// themselves (and the measuring connection) are left out.
func redisCounts(ctx context.Context, addr string) (upstreamCounts, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	out := upstreamCounts{requests: map[string]int{}}
	stats, err := rc.Info(ctx, "commandstats", "clients").Result()
	if err != nil {
		return out, fmt.Errorf("INFO commandstats: %w", err)
	}
	for line := range strings.SplitSeq(stats, "\n") {
		line = strings.TrimSpace(line)
		if name, rest, ok := strings.Cut(line, ":"); ok && strings.HasPrefix(name, "cmdstat_") {
			name = strings.TrimPrefix(name, "cmdstat_")
			if name == "info" {
				continue
			}
			for kv := range strings.SplitSeq(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					out.requests[name], _ = strconv.Atoi(v)
				}
			}
		}
		if v, ok := strings.CutPrefix(line, "connected_clients:"); ok {
			n, _ := strconv.Atoi(v)
			out.conns = n - 1
		}
	}
	return out, nil
}

// serverCounters reads the Go runtime's counters off Tide's /metrics (none
// when there is no Tide in this run).
func (c driveConfig) serverCounters(ctx context.Context) map[string]float64 {
	out := map[string]float64{}
	if c.tideHTTP == "" {
		return out
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.tideHTTP+"/metrics", nil)
	if err != nil {
		return out
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		switch name {
		case "go_goroutines", "go_memstats_heap_inuse_bytes", "go_memstats_mallocs_total", "go_memstats_alloc_bytes_total":
			out[name], _ = strconv.ParseFloat(val, 64)
		}
	}
	return out
}

// selfFootprint is this process's RSS, peak RSS, heap in use and goroutines.
func selfFootprint() Footprint {
	f := processFootprint(os.Getpid())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f.Heap = int64(ms.HeapInuse)
	f.Goroutines = runtime.NumGoroutine()
	return f
}

// processFootprint reads VmRSS and VmHWM of pid from /proc, and counts its
// open file descriptors.
func processFootprint(pid int) Footprint {
	var f Footprint
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		f.FDs = len(ents)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return f
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		switch key {
		case "VmRSS":
			f.RSS = kb << 10
		case "VmHWM":
			f.PeakRSS = kb << 10
		}
	}
	return f
}

// guardRSS ends this process at once when its RSS passes limit bytes: a
// scaler whose memory runs away (KEDA's apache-kafka on a big cluster piles
// up observations of tens of MB each) must not take the machine, and the
// helpers sharing it, down with it. The exit status and the last line of
// stderr become the run's recorded failure.
func guardRSS(ctx context.Context, limit int64) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if rss := selfRSS(); rss > limit {
			fmt.Fprintf(os.Stderr, "compare: RSS %d MiB passed the %d MiB limit (-max-rss-mib): stopped\n", rss>>20, limit>>20)
			os.Exit(3)
		}
	}
}

// selfRSS is this process's resident set in bytes, from /proc/self/statm
// (cheaper than status when polled); 0 if it cannot be read.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}
