package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
)

// commandLine is how this run was started, as make invoked it.
func commandLine() string {
	if cmd := os.Getenv("BENCH_COMPARE_COMMAND"); cmd != "" {
		return cmd
	}
	return "compare " + strings.Join(os.Args[1:], " ")
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		m.Memory = strings.Join(strings.Fields(strings.TrimPrefix(line, "MemTotal:")), " ")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	return m
}

// versions are the peers' and tools' versions, from this binary's build
// info and the tools themselves.
func versions(root string) map[string]string {
	v := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/kedacore/keda/v2", "github.com/IBM/sarama", "github.com/segmentio/kafka-go",
				"github.com/redis/go-redis/v9", "github.com/twmb/franz-go/pkg/kfake", "google.golang.org/grpc",
				"gonum.org/v1/plot":
				v[d.Path] = d.Version
			}
		}
	}
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		v["redis-server"] = strings.TrimSpace(string(out))
	}
	if abs, err := filepath.Abs(root); err == nil {
		if out, err := exec.Command("git", "-C", abs, "describe", "--always", "--dirty").Output(); err == nil {
			v["tide"] = strings.TrimSpace(string(out))
		}
	}
	return v
}
