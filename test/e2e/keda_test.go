package e2e

import (
	"testing"
	"time"
)

// TestKafkaScaledObject: the KEDA operator and the HPA it creates drive a
// Deployment from our Kafka lag: 0 -> 1 from our push well before KEDA's
// pollingInterval, up to the partition cap (never beyond), and back to 1
// and 0 after the cooldown once the lag is drained.
func TestKafkaScaledObject(t *testing.T) {
	ns := testNamespace(t)
	const name, group, partitions = "orders", "orders-workers", 6
	cl := topic(t, ns+"-orders", group, partitions)
	deployment(t, ns, name, nil)
	const polling = 30 // KEDA's default; activation must come from the push, not from polling
	apply(t, scaledObjectYAML(ns, name, polling, 5, 20, kafkaTrigger(ns+"-orders", group, 10, "")))

	never := func(r int32) {
		if r > partitions {
			t.Fatalf("replicas %d above the %d partitions", r, partitions)
		}
	}
	// No lag: KEDA sets up the HPA and the workload stays at zero.
	waitHPA(t, ns, name)
	if r := replicas(t, ns, name); r != 0 {
		t.Fatalf("replicas %d without lag, want 0\n%s", r, status(ns, name))
	}

	produce(t, cl, 100) // lag 100, lagThreshold 10: 10 replicas wanted, 6 partitions
	_, took := waitReplicas(t, ns, name, "activation 0 -> 1", polling*time.Second, func(r int32) bool { return r >= 1 }, never)
	t.Logf("activated %s after the lag appeared (pollingInterval %ds)", took.Round(time.Millisecond), polling)
	if took > 10*time.Second {
		t.Errorf("activation took %s: that is KEDA's polling (every %ds), not our push", took, polling)
	}
	waitReplicas(t, ns, name, "scale to the partition cap", 60*time.Second, func(r int32) bool { return r == partitions }, never)

	commitAll(t, cl, ns+"-orders", group)
	waitReplicas(t, ns, name, "back to 1 with no lag", 60*time.Second, func(r int32) bool { return r <= 1 }, never)
	waitReplicas(t, ns, name, "back to 0 after the cooldown", 90*time.Second, func(r int32) bool { return r == 0 }, never)
}
