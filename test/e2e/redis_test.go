package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/tide-scaler/tide/internal/testredis"
)

func redisTrigger(addr, list string, listLength int, passwordFromEnv bool) string {
	pw := ""
	if passwordFromEnv {
		// KEDA resolves ...FromEnv from the scaled workload's container env
		// and forwards the value; TriggerAuthentication secrets are not.
		pw = "      passwordFromEnv: REDIS_PASSWORD\n"
	}
	return fmt.Sprintf(`  - type: external-push
    metadata:
      scalerAddress: %q
      source: redis
      address: %q
      listName: %q
      listLength: "%d"
%s`, scaler.Addr(), addr, list, listLength, pw)
}

// TestRedisScaledObject: a Redis list behind a password (given to the
// scaler through passwordFromEnv) scales a Deployment up to the demand and
// back to zero once the list is drained.
func TestRedisScaledObject(t *testing.T) {
	ns := testNamespace(t)
	const name, password = "jobs", "e2e-redis-secret"
	rs := testredis.Start(t, testredis.Config{Args: []string{"--requirepass", password}, Password: password})
	deployment(t, ns, name, map[string]string{"REDIS_PASSWORD": password})
	apply(t, scaledObjectYAML(ns, name, 5, 5, 20, redisTrigger(rs.Addr, "jobs", 5, true)))
	waitHPA(t, ns, name)

	for range 23 {
		rs.Do("RPUSH", "jobs", "job") // 23 jobs, 5 per replica: 5 replicas
	}
	waitReplicas(t, ns, name, "scale to ceil(23/5) = 5", 60*time.Second, func(r int32) bool { return r == 5 }, nil)
	rs.Do("DEL", "jobs")
	waitReplicas(t, ns, name, "back to 0", 90*time.Second, func(r int32) bool { return r == 0 }, nil)
}

// TestTwoTriggers: one ScaledObject with a Kafka and a Redis trigger; the
// HPA follows the larger demand, and the smaller one when the larger goes.
func TestTwoTriggers(t *testing.T) {
	ns := testNamespace(t)
	const name, group = "mixed", "mixed-workers"
	rs := testredis.Start(t, testredis.Config{})
	cl := topic(t, ns+"-mixed", group, 12)
	deployment(t, ns, name, nil)
	apply(t, scaledObjectYAML(ns, name, 5, 5, 20,
		kafkaTrigger(ns+"-mixed", group, 10, "")+redisTrigger(rs.Addr, "mixed", 5, false)))
	waitHPA(t, ns, name)

	produce(t, cl, 30) // Kafka wants 3
	for range 40 {
		rs.Do("RPUSH", "mixed", "job") // Redis wants 8
	}
	waitReplicas(t, ns, name, "the larger demand (Redis: 8)", 60*time.Second, func(r int32) bool { return r == 8 }, nil)
	rs.Do("DEL", "mixed")
	waitReplicas(t, ns, name, "the remaining demand (Kafka: 3)", 60*time.Second, func(r int32) bool { return r == 3 }, nil)
	commitAll(t, cl, ns+"-mixed", group)
	waitReplicas(t, ns, name, "back to 0", 90*time.Second, func(r int32) bool { return r == 0 }, nil)
}
