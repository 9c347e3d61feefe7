package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestSeedFillers creates filler topics on a real kfake cluster, across
// more than one CreateTopics batch, and lists them back.
func TestSeedFillers(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n, parts = fillerBatch*2 + 7, 3
	if err := seedFillers(ctx, c, n, parts); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for name, d := range td {
		if !strings.HasPrefix(name, "filler-") {
			continue
		}
		got++
		if len(d.Partitions) != parts {
			t.Errorf("%s has %d partitions, want %d", name, len(d.Partitions), parts)
		}
	}
	if got != n {
		t.Errorf("%d filler topics, want %d", got, n)
	}
	if _, ok := td[fillerTopic(n-1)]; !ok {
		t.Errorf("the last filler topic %s is missing", fillerTopic(n-1))
	}
}

// TestGuardRSS runs this test binary as a child whose RSS limit is one
// byte: the guard must stop it at once with status 3 and say why.
func TestGuardRSS(t *testing.T) {
	if os.Getenv("COMPARE_GUARD_CHILD") == "1" {
		guardRSS(context.Background(), 1)
		return
	}
	if rss := selfRSS(); rss <= 0 {
		t.Fatalf("selfRSS() = %d", rss)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestGuardRSS$")
	cmd.Env = append(os.Environ(), "COMPARE_GUARD_CHILD=1")
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("child: %v, want exit status 3; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "passed the 0 MiB limit (-max-rss-mib): stopped") {
		t.Errorf("child's output lacks the reason:\n%s", out)
	}
}
