package benchmarks

import (
	"fmt"
	"testing"

	"github.com/tide-scaler/tide/internal/testredis"
)

// redisLists is how many lists the Redis triggers share, like the ten
// consumer groups of the Kafka benchmark.
const redisLists = 10

// startRedisLists starts a real redis-server with list i holding 10·(i+1)
// entries.
func startRedisLists(tb testing.TB) *testredis.Server {
	tb.Helper()
	rs := testredis.Start(tb, testredis.Config{})
	for i := range redisLists {
		args := []any{"RPUSH", fmt.Sprintf("jobs-%d", i)}
		for j := range int(redisWant(i)) {
			args = append(args, j)
		}
		rs.Do(args...)
	}
	return rs
}

func redisWant(i int) float64 { return float64(10 * (i%redisLists + 1)) }

// redisMetadata is ScaledObject i's trigger: one of the lists, a target
// above every depth so the value is the depth itself.
func redisMetadata(addr string, i int) map[string]string {
	return map[string]string{
		"source": "redis", "address": addr,
		"listName":   fmt.Sprintf("jobs-%d", i%redisLists),
		"listLength": "1000000",
		"metricName": fmt.Sprintf("so-%05d", i),
	}
}

// BenchmarkGetMetricsRedis is BenchmarkGetMetrics for Redis list triggers
// on a real redis-server: 10,000 ScaledObjects sharing 10 lists, with the
// same health-check baseline and figures.
func BenchmarkGetMetricsRedis(b *testing.B) {
	rs := startRedisLists(b)
	for _, n := range []int{10000} {
		var env *scalerEnv
		b.Run(fmt.Sprintf("triggers=%d", n), func(b *testing.B) {
			if env == nil {
				var err error
				if env, err = startScaler(n, redisLists,
					func(i int) map[string]string { return redisMetadata(rs.Addr, i) }, redisWant); err != nil {
					b.Fatal(err)
				}
			}
			env.measure(b)
		})
		if env != nil {
			env.close()
		}
	}
}
