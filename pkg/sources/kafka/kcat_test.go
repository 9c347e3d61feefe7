package kafka

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKcatLag checks our lag against an independent client: Debian's kcat
// (librdkafka) produces and consumes, committing what it read.
func TestKcatLag(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not on PATH: install it with `apt-get update && apt-get install -y kcat` " +
			"(CI does), then run `go test ./pkg/sources/kafka/` again")
	}
	c := startCluster(t)
	// kcat exits 0 when producing to a missing topic: create it first.
	c.createTopic(t, 3, "kc")
	broker := c.ListenAddrs()[0]
	for p := range 3 {
		lines := strings.Repeat("message\n", 10)
		runKcat(t, kcat, lines, "-b", broker, "-P", "-t", "kc", "-p", strconv.Itoa(p))
	}
	// "all" reads everything and commits; "some" reads 10 messages.
	runKcat(t, kcat, "", "-b", broker, "-G", "all", "-X", "auto.offset.reset=earliest", "-e", "-q", "kc")
	runKcat(t, kcat, "", "-b", broker, "-G", "some", "-X", "auto.offset.reset=earliest", "-c", "10", "-q", "kc")

	all := mustParse(t, c, map[string]string{"consumerGroup": "all", "topic": "kc"})
	// earliest: partitions "some" never read count their whole log, so the
	// total does not depend on how librdkafka spread its 10 reads.
	some := mustParse(t, c, map[string]string{"consumerGroup": "some", "topic": "kc", "offsetResetPolicy": "earliest"})
	allNoTopic := mustParse(t, c, map[string]string{"consumerGroup": "all"})
	res := pollAt(t, open(t, all), all, some, allNoTopic)
	if s := mustSample(t, res[0]); s.Value != 0 || s.Capacity != 3 {
		t.Errorf("group all: value %v capacity %d, want 0 over 3 partitions (%+v)", s.Value, s.Capacity, s.Parts)
	}
	if s := mustSample(t, res[1]); s.Value != 20 {
		t.Errorf("group some: value %v, want 30 produced - 10 read = 20 (%+v)", s.Value, s.Parts)
	}
	if s := mustSample(t, res[2]); s.Value != 0 || len(s.Parts) != 3 || len(s.Notes) != 0 {
		t.Errorf("group all without topic: %+v, want the committed topic's 3 partitions at 0", s)
	}
}

func runKcat(t *testing.T, kcat, stdin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
