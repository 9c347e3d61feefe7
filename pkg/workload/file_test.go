package workload

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testlog"
	"github.com/tide-scaler/tide/pkg/trigger"
)

func entry(name, queue string) string {
	return "- {name: " + name + ", namespace: shop, maxReplicas: 3, " +
		"scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: w}, metadata: {source: fake, queue: " + queue + "}}\n"
}

func oneTrigger(name, queue string) string { return "triggers:\n" + entry(name, queue) }

// write replaces the file atomically, as the kubelet updates a mounted
// ConfigMap: a reload still running from the previous tick reads the old
// content or the new, never half of it.
func write(t *testing.T, path, s string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// swept sweeps every trigger not held and returns the queues dropped.
func swept(c *trigger.Cache) []string {
	var q []string
	c.Sweep(time.Now().Add(time.Hour), func(t *trigger.Trigger) { q = append(q, t.MetricName()) })
	return q
}

// The watcher is driven by an injected tick channel. It is unbuffered and
// Watch handles one tick at a time, so the second send of tick() returns
// only once the first tick's reload is complete: whatever was written
// before tick() has been loaded when it returns, with no sleeping.
func TestWatchSwapsValidConfigsAndKeepsTheOldOnBadOnes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	two := oneTrigger("a", "qa") + entry("b", "qb")
	write(t, path, two)
	logs := &testlog.Buffer{}
	cache := newCache(0)
	defer cache.Close()
	f, err := Open(path, cache, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	first := f.Current()
	if a, _ := cache.Get(map[string]string{"source": "fake", "queue": "qa"}, time.Now()); a != first.Workloads[0].Trigger() {
		t.Fatal("an entry's trigger is not the instance the cache gives every face")
	}

	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); f.Watch(ctx, ticks) }()
	defer func() { cancel(); <-done }()
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} }

	tick()
	if f.Current() != first {
		t.Fatal("an unchanged file made a new config")
	}

	// A bad edit: the old config stays and the error is logged once, however
	// many polls see it; the triggers it parsed are not held.
	write(t, path, strings.Replace(two, "maxReplicas: 3", "maxReplicas: -1", 1)+entry("c", "qc"))
	tick()
	tick()
	tick()
	if f.Current() != first {
		t.Fatal("a bad file replaced the config")
	}
	if n := strings.Count(logs.String(), "cannot load workload file"); n != 1 {
		t.Fatalf("bad config logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "triggers[0].maxReplicas: -1: must be at least 1") {
		t.Errorf("log does not name the bad key:\n%s", logs)
	}
	if q := swept(cache); len(q) != 1 || q[0] != "fake-qc" {
		t.Errorf("swept %v; want only the rejected file's new trigger", q)
	}

	// A file that disappears is logged once too, and the config stays.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tick()
	tick()
	if n := strings.Count(logs.String(), "no such file"); n != 1 || f.Current() != first {
		t.Fatalf("missing file: logged %d times (want 1), config replaced: %v", n, f.Current() != first)
	}

	// A good edit swaps in; b is unchanged and keeps its trigger (its
	// activation state), a changed gets a new one, and the old one is no
	// longer held.
	write(t, path, strings.Replace(two, "queue: qa", "queue: qa2", 1))
	tick()
	now := f.Current()
	if now == first || now.Workloads[0].Metadata["queue"] != "qa2" {
		t.Fatalf("the fixed file was not loaded: %+v", now.Workloads)
	}
	if now.Workloads[1].Trigger() != first.Workloads[1].Trigger() {
		t.Error("an unchanged entry lost its trigger on reload")
	}
	if now.Workloads[0].Trigger() == first.Workloads[0].Trigger() {
		t.Error("a changed entry kept its old trigger")
	}
	if !strings.Contains(logs.String(), "workload file reloaded") {
		t.Errorf("reload not logged:\n%s", logs)
	}
	if q := swept(cache); len(q) != 1 || q[0] != "fake-qa" {
		t.Errorf("swept %v; want only the trigger of the changed entry", q)
	}

	// The first bad content logged once; new bad content is news again.
	write(t, path, "triggers: []\n")
	tick()
	if n := strings.Count(logs.String(), "cannot load workload file"); n != 3 || f.Current() != now {
		t.Fatalf("second bad config: %d failures logged in all (want 3), config replaced: %v", n, f.Current() != now)
	}

	// Close lets the cache drop them all.
	f.Close()
	if q := swept(cache); len(q) != 2 {
		t.Errorf("swept %v after Close; want both triggers", q)
	}
}

// A reload refused for the cache's size limit is tried again (the limit
// may lift as idle triggers are swept), and logged once.
func TestReloadRetriesWhenTheCacheIsFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	write(t, path, oneTrigger("a", "qa"))
	logs := &testlog.Buffer{}
	cache := newCache(2)
	defer cache.Close()
	f, err := Open(path, cache, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Get(map[string]string{"source": "fake", "queue": "grpc"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); f.Watch(ctx, ticks) }()
	defer func() { cancel(); <-done }()
	tick := func() { ticks <- time.Time{}; ticks <- time.Time{} }

	write(t, path, oneTrigger("a", "qa")+entry("b", "qb"))
	tick()
	tick()
	if n := strings.Count(logs.String(), "cannot load workload file"); n != 1 || !strings.Contains(logs.String(), "triggers[1].metadata") ||
		len(f.Current().Workloads) != 1 {
		t.Fatalf("logged %d times, %d entries; want once, naming the entry, and the old config:\n%s", n, len(f.Current().Workloads), logs)
	}
	swept(cache) // the gRPC trigger goes idle
	tick()
	if len(f.Current().Workloads) != 2 {
		t.Errorf("%d entries once there is room; want the new config", len(f.Current().Workloads))
	}
}

func TestOpenFailsOnABadFirstLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	cache := newCache(0)
	defer cache.Close()
	if _, err := Open(path, cache, Options{}); err == nil {
		t.Error("a missing file opened")
	}
	write(t, path, oneTrigger("Bad", "q"))
	_, err := Open(path, cache, Options{})
	if err == nil || !strings.Contains(err.Error(), path+": triggers[0].name: \"Bad\"") {
		t.Errorf("error = %v; want it to name the file and the key", err)
	}
	if q := swept(cache); len(q) != 1 || cache.Len() != 0 {
		t.Errorf("swept %v, %d left: a rejected file must hold nothing", q, cache.Len())
	}
}
