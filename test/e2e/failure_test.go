package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tide-scaler/tide/test/e2e/cluster"
)

// readyReason returns the ScaledObject's Ready condition as
// "<status>/<reason>".
func readyReason(t *testing.T, ns, name string) string {
	t.Helper()
	so, err := kube.Dynamic.Resource(cluster.ScaledObjects).Namespace(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	conds, _, _ := unstructured.NestedSlice(so.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			return fmt.Sprintf("%v/%v", m["status"], m["reason"])
		}
	}
	return ""
}

// TestScalerKilledWhileKEDAPolls: with our scaler gone, KEDA's calls fail:
// the ScaledObject goes Ready=False/TriggerError and, with no fallback, KEDA
// does not scale to zero on errors (a fallback would not engage anyway: it
// needs GetMetricSpec, which fails too, kedacore/keda#8056); the HPA cannot
// read the metric and keeps the count. The replica count must never drop
// to 0 while lag exists. After a restart everything resumes.
func TestScalerKilledWhileKEDAPolls(t *testing.T) {
	ns := testNamespace(t)
	const name, group = "crash", "crash-workers"
	cl := topic(t, ns+"-crash", group, 4)
	deployment(t, ns, name, nil)
	apply(t, scaledObjectYAML(ns, name, 2, 5, 10, kafkaTrigger(ns+"-crash", group, 10, "")))
	waitHPA(t, ns, name)
	produce(t, cl, 40)
	waitReplicas(t, ns, name, "scale to 4", 60*time.Second, func(r int32) bool { return r == 4 }, nil)

	neverZero := func(r int32) {
		if r == 0 {
			t.Fatalf("scaled to 0 while 40 messages wait\n%s", status(ns, name))
		}
	}
	scaler.Kill()
	restarted := false
	defer func() {
		if !restarted {
			_ = scaler.Start(context.Background())
		}
	}()
	// Wait for KEDA to notice, watching the count; then stay down through
	// more than the cooldown (5 s) and several KEDA polls (2 s) and HPA
	// syncs (1 s) to show nothing scales to zero.
	waitReplicas(t, ns, name, "KEDA notices the failing trigger", 60*time.Second,
		func(int32) bool { return readyReason(t, ns, name) == "False/TriggerError" }, neverZero)
	noticed := time.Now()
	waitReplicas(t, ns, name, "more than a cooldown with the scaler down", 30*time.Second,
		func(int32) bool { return time.Since(noticed) > 12*time.Second }, neverZero)
	t.Logf("with the scaler down KEDA recorded failures and the HPA said:\n%s", status(ns, name))
	neverZero(replicas(t, ns, name))

	if err := scaler.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitReplicas(t, ns, name, "KEDA recovers: Ready again", 60*time.Second,
		func(int32) bool { return strings.HasPrefix(readyReason(t, ns, name), "True/") }, neverZero)
	waitReplicas(t, ns, name, "still at 4 with the lag", 30*time.Second, func(r int32) bool { return r == 4 }, neverZero)
}

// TestScalerRestartMidScaleUp: the scaler crashes right after activation;
// the scale-up completes once it is back.
func TestScalerRestartMidScaleUp(t *testing.T) {
	ns := testNamespace(t)
	const name, group = "midway", "midway-workers"
	cl := topic(t, ns+"-midway", group, 8)
	deployment(t, ns, name, nil)
	apply(t, scaledObjectYAML(ns, name, 2, 5, 10, kafkaTrigger(ns+"-midway", group, 10, "")))
	waitHPA(t, ns, name)
	produce(t, cl, 80)
	waitReplicas(t, ns, name, "activation", 30*time.Second, func(r int32) bool { return r >= 1 }, nil)
	scaler.Kill()
	if err := scaler.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitReplicas(t, ns, name, "the scale-up completes at 8", 60*time.Second, func(r int32) bool { return r == 8 }, nil)
}

// openStreams reads tide_open_streams{method="StreamIsActive"} from the
// scaler's /metrics.
func openStreams(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(scaler.HTTP) + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, `tide_open_streams{method="StreamIsActive"} `) {
			n, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
			return int(n)
		}
	}
	return 0
}

// TestGracefulShutdownReconnect: SIGTERM ends KEDA's StreamIsActive with
// status OK, so KEDA reconnects without its backoff as soon as the scaler
// is back, and the next activation comes from the push again, long before
// KEDA's pollingInterval.
func TestGracefulShutdownReconnect(t *testing.T) {
	ns := testNamespace(t)
	const name, group = "drain", "drain-workers"
	cl := topic(t, ns+"-drain", group, 2)
	deployment(t, ns, name, nil)
	const polling = 120
	apply(t, scaledObjectYAML(ns, name, polling, 5, 10, kafkaTrigger(ns+"-drain", group, 10, "")))
	waitHPA(t, ns, name)
	waitFor(t, "KEDA's StreamIsActive", 30*time.Second, func() bool { return openStreams(t) >= 1 })

	if err := scaler.Stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if err := scaler.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "KEDA to reopen StreamIsActive", 30*time.Second, func() bool { return openStreams(t) >= 1 })
	took := time.Since(start)
	t.Logf("KEDA reopened the stream %s after the restart", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("reconnect took %s: KEDA backed off, so the stream did not end cleanly", took)
	}
	produce(t, cl, 5)
	_, act := waitReplicas(t, ns, name, "activation by push", 30*time.Second, func(r int32) bool { return r >= 1 }, nil)
	if act > 10*time.Second {
		t.Errorf("activation took %s; with pollingInterval %ds only the push can be that fast", act, polling)
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; scaler log:\n%s", timeout, what, scaler.Proc().Tail(20))
		}
		time.Sleep(100 * time.Millisecond) // polling for an event
	}
}
