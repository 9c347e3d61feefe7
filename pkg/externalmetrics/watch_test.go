package externalmetrics

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe to read while Watch writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func oneTrigger(name, queue string) string {
	return "triggers:\n- {name: " + name + ", namespace: shop, maxReplicas: 3, " +
		"scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: w}, metadata: {source: fake, queue: " + queue + "}}\n"
}

// The watcher is driven by an injected tick channel. It is unbuffered and
// Watch handles one tick at a time, so the second send of tick() returns
// only once the first tick's reload is complete: whatever was written
// before tick() has been loaded when it returns, with no sleeping.
func TestWatchSwapsValidConfigsAndKeepsTheOldOnBadOnes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	// write replaces the file atomically, as the kubelet updates a mounted
	// ConfigMap: a reload still running from the previous tick() (see
	// below) reads the old content or the new, never half of it.
	write := func(s string) {
		t.Helper()
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	two := oneTrigger("a", "qa") + "- {name: b, namespace: shop, maxReplicas: 3, " +
		"scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: w}, metadata: {source: fake, queue: qb}}\n"
	write(two)
	logs := &syncBuffer{}
	f, err := OpenConfigFile(path, testParsers(), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	first := f.Current()

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
	// many polls see it.
	write(strings.Replace(two, "maxReplicas: 3", "maxReplicas: -1", 1))
	tick()
	tick()
	tick()
	if f.Current() != first {
		t.Fatal("a bad file replaced the config")
	}
	if n := strings.Count(logs.String(), "invalid external metrics config"); n != 1 {
		t.Fatalf("bad config logged %d times, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "triggers[0].maxReplicas: -1: must be at least 1") {
		t.Errorf("log does not name the bad key:\n%s", logs)
	}

	// A file that disappears is logged once too, and the config stays.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	tick()
	tick()
	if n := strings.Count(logs.String(), "cannot read external metrics config"); n != 1 || f.Current() != first {
		t.Fatalf("missing file: logged %d times (want 1), config replaced: %v", n, f.Current() != first)
	}

	// A good edit swaps in; b is unchanged and keeps its parsed trigger
	// (its activation state), a changed gets a new one.
	write(strings.Replace(two, "queue: qa", "queue: qa2", 1))
	tick()
	now := f.Current()
	if now == first || now.Triggers[0].Metadata["queue"] != "qa2" {
		t.Fatalf("the fixed file was not loaded: %+v", now.Triggers)
	}
	if now.Triggers[1].Parsed() != first.Triggers[1].Parsed() {
		t.Error("an unchanged trigger lost its parsed state on reload")
	}
	if now.Triggers[0].Parsed() == first.Triggers[0].Parsed() {
		t.Error("a changed trigger kept its old parsed state")
	}
	if !strings.Contains(logs.String(), "external metrics config reloaded") {
		t.Errorf("reload not logged:\n%s", logs)
	}

	// The first bad content logged once; new bad content is news again.
	write("triggers: []\n")
	tick()
	if n := strings.Count(logs.String(), "invalid external metrics config"); n != 2 || f.Current() != now {
		t.Fatalf("second bad config: logged %d times in all (want 2), config replaced: %v", n, f.Current() != now)
	}
}

func TestOpenConfigFileFailsOnABadFirstLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if _, err := OpenConfigFile(path, nil, nil); err == nil {
		t.Error("a missing file opened")
	}
	if err := os.WriteFile(path, []byte(oneTrigger("Bad", "q")), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenConfigFile(path, testParsers(), nil)
	if err == nil || !strings.Contains(err.Error(), path+": triggers[0].name: \"Bad\"") {
		t.Errorf("error = %v; want it to name the file and the key", err)
	}
}
