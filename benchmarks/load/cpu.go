package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// cpuSnap is CPU time in clock ticks: the machine's busy time and the
// processes of the run.
type cpuSnap struct {
	busy, total              float64 // whole machine, every CPU
	scaler, generator, redis float64
}

// procTicks is a process's user+system time (/proc/<pid>/stat).
func procTicks(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64) // field 14, utime
	k, _ := strconv.ParseFloat(f[12], 64) // field 15, stime
	return u + k
}

// machineTicks is the busy and total time of every CPU (/proc/stat).
func machineTicks() (busy, total float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		if i >= 8 { // guest time is already in user
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

func takeCPU(scalerPID, redisPID int) cpuSnap {
	var c cpuSnap
	c.busy, c.total = machineTicks()
	c.scaler = procTicks(strconv.Itoa(scalerPID))
	c.generator = procTicks("self")
	c.redis = procTicks(strconv.Itoa(redisPID))
	return c
}

// cpuShares says how the machine's CPU went over a window, in cores
// (1.0 = one CPU busy all the time).
func cpuShares(a, b cpuSnap, cpus int) string {
	total := b.total - a.total
	if total <= 0 {
		return "CPU: not measured"
	}
	cores := func(ticks float64) float64 { return ticks / total * float64(cpus) }
	busy := b.busy - a.busy
	own := (b.scaler - a.scaler) + (b.generator - a.generator) + (b.redis - a.redis)
	return fmt.Sprintf("CPU over the window, in cores of %d: scaler %.2f, this load generator (client and kfake) %.2f, "+
		"redis-server %.2f, other processes %.2f; machine busy %.0f %%.",
		cpus, cores(b.scaler-a.scaler), cores(b.generator-a.generator), cores(b.redis-a.redis),
		cores(max(0, busy-own)), 100*busy/total)
}
