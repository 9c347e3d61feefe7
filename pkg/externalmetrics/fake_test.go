package externalmetrics

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/redis"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// newCache is a trigger cache over r with the fake source (testqueue's,
// whose value a sample's Capacity caps at Capacity x target, like Kafka's
// partition cap, so raw and replicas mode differ in an interesting way) and
// redis.
func newCache(t *testing.T, r trigger.Reader) *trigger.Cache {
	t.Helper()
	reg := testqueue.Registry(
		trigger.Source{Name: "redis", Keys: redis.Keys(), Parse: func(md metadata.Metadata) (trigger.Parsed, error) { return redis.Parse(md, sources.Policy{}) }},
	)
	c := trigger.NewCache(trigger.CacheConfig{Registry: reg, Reader: r})
	t.Cleanup(c.Close)
	return c
}

// openWorkloads writes yaml to a file and opens it with cache.
func openWorkloads(t *testing.T, yaml string, cache *trigger.Cache) *workload.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "workloads.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := workload.Open(path, cache, workload.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}
