package benchmarks

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// cpuClock is a reading of the CPU time used by the whole machine and by
// this process, from /proc (Linux only; ok is false elsewhere).
type cpuClock struct {
	at         time.Time
	busy, self float64 // seconds
	ok         bool
}

// readCPUClock reads /proc/stat and /proc/self/stat. Machine time counts
// user, nice, system and steal (a vCPU the hypervisor gave to someone
// else); interrupt time is left out, since much of it is this process's
// own loopback traffic.
func readCPUClock() cpuClock {
	const hz = 100 // USER_HZ, fixed at 100 on Linux for these files
	c := cpuClock{at: time.Now()}
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return c
	}
	for _, i := range []int{1, 2, 3, 8} {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return c
		}
		c.busy += v / hz
	}
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return c
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14 and stime 15.
	_, rest, ok := strings.Cut(string(self), ") ")
	g := strings.Fields(rest)
	if !ok || len(g) < 13 {
		return c
	}
	for _, i := range []int{11, 12} {
		v, err := strconv.ParseFloat(g[i], 64)
		if err != nil {
			return c
		}
		c.self += v / hz
	}
	c.ok = true
	return c
}

// othersCPU is the share of the machine's CPUs, in percent, that other
// processes (and the hypervisor's steal) used between a and b: how much a
// run's latencies were disturbed by neighbours. -1 when unknown.
func othersCPU(a, b cpuClock) float64 {
	wall := b.at.Sub(a.at).Seconds()
	if !a.ok || !b.ok || wall <= 0 {
		return -1
	}
	others := (b.busy - a.busy) - (b.self - a.self)
	return max(0, 100*others/(wall*float64(runtime.NumCPU())))
}
