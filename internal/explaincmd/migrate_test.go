package explaincmd

import (
	"github.com/tide-scaler/tide/internal/cli"
	"strings"
	"testing"
)

// kedaKafka is a KEDA user's file: a Secret, then a ScaledObject with KEDA's
// built-in kafka trigger. The demo's embedded Kafka has 12 partitions with
// lags 40, 37, ..., 7 (282 in all).
const kedaKafka = `
apiVersion: v1
kind: Secret
metadata: {name: kafka-credentials}
stringData: {password: change-me}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: orders}
spec:
  maxReplicaCount: 20
  triggers:
  - type: cpu
    metricType: Utilization
    metadata: {value: "80"}
  - type: kafka
    metadata:
      bootstrapServers: kafka:9092
      consumerGroup: orders-consumer
      topic: orders
      lagThreshold: "23"
      fullMetadata: "false"
`

// TestExplainMigrationDryRun: explain takes a ScaledObject with KEDA's
// built-in kafka trigger from a multi-document file, converts it and shows
// KEDA's arithmetic beside Tide's for the same live reading. At
// lagThreshold 23, 282 / 23 is 12 in integer division, not above the 12
// partitions, so KEDA sends 282 (13 replicas); Tide caps at exactly
// 12 × 23 = 276 (12 replicas).
func TestExplainMigrationDryRun(t *testing.T) {
	so := writeFile(t, "so.yaml", kedaKafka)
	out, err := explainOut(t, "--demo", "--file", so, "--replicas", "10")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, w := range []string{
		"dry run: KEDA's kafka trigger (spec.triggers[1]) as Tide source kafka",
		"KEDA v2.21.0 arithmetic, recomputed Tide",
		"metric name s1-kafka-orders s1-kafka-orders-consumer-orders",
		"target (AverageValue) 23 23",
		"value sent 282 276",
		"active true true",
		"HPA model 10 -> 13 replicas 10 -> 12 replicas",
		`"fullMetadata": dropped`,
		"the HPA's metric is renamed s1-kafka-orders -> s1-kafka-orders-consumer-orders",
	} {
		if !strings.Contains(flat, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// TestExplainMultiDocumentFile: --file skips the Secret and Deployment of
// the repository's own example (its SASL is turned off: the embedded Kafka
// has none); with several ScaledObjects, --name picks one and its absence
// is a usage error.
func TestExplainMultiDocumentFile(t *testing.T) {
	out, err := explainOut(t, "--demo", "--file", "../../deploy/examples/kafka.yaml", "-m", "sasl=none", "-m", "username=", "-m", "passwordFromEnv=")
	if err != nil || !strings.Contains(out, "GetMetricSpec target 100") {
		t.Fatalf("deploy/examples/kafka.yaml: %v\n%s", err, out)
	}
	two := writeFile(t, "two.yaml", kedaKafka+"---\n"+strings.Replace(kedaKafka, "name: orders}", "name: payments}", 1))
	_, err = explainOut(t, "--demo", "--file", two)
	if cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(err.Error(), `"orders"`) || !strings.Contains(err.Error(), "--name") {
		t.Errorf("two ScaledObjects, no --name: exit %d, %v", cli.ExitCode(err), err)
	}
	if out, err := explainOut(t, "--demo", "--file", two, "--name", "payments"); err != nil || !strings.Contains(out, "dry run") {
		t.Errorf("--name payments: %v\n%s", err, out)
	}
	bad := writeFile(t, "bad.yaml", strings.Replace(kedaKafka, "fullMetadata: \"false\"", "sasl: gssapi", 1))
	if _, err := explainOut(t, "--demo", "--file", bad); cli.ExitCode(err) != cli.ExitInvalidTrigger || !strings.Contains(err.Error(), "gssapi") {
		t.Errorf("gssapi: exit %d, %v", cli.ExitCode(err), err)
	}
}
