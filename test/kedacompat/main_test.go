package kedacompat

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
)

// Shared by every test; set up once in TestMain.
var (
	scalerBin string                              // the scaler binary built from ../..
	kafka     *kafkaEnv                           // in-process 3-broker Kafka
	srv       *server                             // the scaler process most tests talk to
	keda      externalscaler.ExternalScalerClient // KEDA's client to srv
)

// rpcTimeout bounds every unary RPC. KEDA's HPA path gives GetMetricSpec,
// GetMetrics and IsActive 3 s together; this is generous on purpose.
const rpcTimeout = 10 * time.Second

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	repoRoot, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		fmt.Fprintln(os.Stderr, "kedacompat:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "kedacompat-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kedacompat:", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	if bin := os.Getenv("KEDACOMPAT_SCALER_BIN"); bin != "" {
		// Test a prebuilt binary (a release, or one built with -race).
		scalerBin = bin
	} else if scalerBin, err = buildScaler(repoRoot, tmp); err != nil {
		fmt.Fprintln(os.Stderr, "kedacompat: building the scaler failed:\n"+err.Error())
		return 1
	}

	kafka, err = newKafkaEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kedacompat:", err)
		return 1
	}
	defer kafka.Close()

	srv, err = startServer(scalerBin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kedacompat: starting the scaler failed:", err)
		return 1
	}
	client, conn, err := dial(srv.GRPCAddr)
	if err != nil {
		srv.Stop()
		fmt.Fprintln(os.Stderr, "kedacompat: dial:", err)
		return 1
	}
	keda = client

	code := m.Run()

	conn.Close()
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "kedacompat: the shared scaler did not shut down cleanly on SIGTERM: %v\n", err)
		code = 1
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- shared scaler output (tail) ---\n%s\n", srv.Tail(200))
	}
	return code
}

// trigger is the scalerMetadata of one KEDA trigger, exactly as KEDA
// forwards it: every metadata key verbatim, scalerAddress included.
type trigger map[string]string

// kafkaTrigger is the metadata of a Kafka trigger for group on topic,
// served by the scaler at scalerAddr, plus overrides (an empty value
// deletes the key).
func kafkaTrigger(scalerAddr, bootstrap, group, topic string, overrides map[string]string) trigger {
	md := trigger{
		"scalerAddress":          scalerAddr,
		"source":                 "kafka",
		"bootstrapServers":       bootstrap,
		"consumerGroup":          group,
		"topic":                  topic,
		"lagThreshold":           "10",
		"activationLagThreshold": "0",
	}
	for k, v := range overrides {
		if v == "" {
			delete(md, k)
		} else {
			md[k] = v
		}
	}
	return md
}

// triggerFor is kafkaTrigger for fixture f on the shared server and cluster.
func triggerFor(f lagFixture, overrides map[string]string) trigger {
	return kafkaTrigger(srv.GRPCAddr, kafka.Bootstrap(), f.Group, f.Topic, overrides)
}

// ref is the ScaledObjectRef KEDA sends for a ScaledObject named after the test.
func ref(t testing.TB, md trigger) *externalscaler.ScaledObjectRef {
	return &externalscaler.ScaledObjectRef{
		Name:           uniqueName(t, "so"),
		Namespace:      "kedacompat",
		ScalerMetadata: md,
	}
}

func rpcCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), rpcTimeout)
	t.Cleanup(cancel)
	return ctx
}

// metricSpec calls GetMetricSpec and checks KEDA's structural expectations:
// exactly one spec, a non-empty name, both targets filled and equal.
func metricSpec(t testing.TB, c externalscaler.ExternalScalerClient, r *externalscaler.ScaledObjectRef) *externalscaler.MetricSpec {
	t.Helper()
	resp, err := c.GetMetricSpec(rpcCtx(t), r)
	if err != nil {
		t.Fatalf("GetMetricSpec(%v): %v", r.ScalerMetadata, err)
	}
	checkSpecs(t, "GetMetricSpec", resp)
	return resp.MetricSpecs[0]
}

func checkSpecs(t testing.TB, what string, resp *externalscaler.GetMetricSpecResponse) {
	t.Helper()
	if n := len(resp.GetMetricSpecs()); n != 1 {
		t.Fatalf("%s returned %d MetricSpecs, want exactly 1: %v", what, n, resp)
	}
	s := resp.MetricSpecs[0]
	if s.MetricName == "" {
		t.Errorf("%s: empty metricName: %v", what, s)
	}
	if s.TargetSize <= 0 || s.TargetSizeFloat <= 0 {
		t.Errorf("%s: targetSize %d and targetSizeFloat %v must both be filled (> 0)", what, s.TargetSize, s.TargetSizeFloat)
	}
}

// metricValue calls GetMetrics for name the way KEDA does and checks there is
// exactly one value, named as requested, with int and float fields agreeing.
func metricValue(t testing.TB, c externalscaler.ExternalScalerClient, r *externalscaler.ScaledObjectRef, name string) *externalscaler.MetricValue {
	t.Helper()
	v, err := getMetric(rpcCtx(t), c, r, name)
	if err != nil {
		t.Fatalf("GetMetrics(metricName %q, %v): %v", name, r.ScalerMetadata, err)
	}
	return v
}

// getMetric is metricValue without failing on an RPC error; structural
// problems with a successful answer are returned as errors too.
func getMetric(ctx context.Context, c externalscaler.ExternalScalerClient, r *externalscaler.ScaledObjectRef, name string) (*externalscaler.MetricValue, error) {
	resp, err := c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: r, MetricName: name})
	if err != nil {
		return nil, err
	}
	if n := len(resp.GetMetricValues()); n != 1 {
		return nil, fmt.Errorf("GetMetrics returned %d MetricValues, want exactly 1: %v", n, resp)
	}
	v := resp.MetricValues[0]
	if v.MetricName != name {
		return v, fmt.Errorf("GetMetrics returned a value named %q, want the requested %q", v.MetricName, name)
	}
	if math.Abs(float64(v.MetricValue)-v.MetricValueFloat) >= 1 {
		return v, fmt.Errorf("GetMetrics: metricValue %d and metricValueFloat %v disagree (both must be filled)", v.MetricValue, v.MetricValueFloat)
	}
	return v, nil
}

func isActive(t testing.TB, c externalscaler.ExternalScalerClient, r *externalscaler.ScaledObjectRef) bool {
	t.Helper()
	resp, err := c.IsActive(rpcCtx(t), r)
	if err != nil {
		t.Fatalf("IsActive(%v): %v", r.ScalerMetadata, err)
	}
	return resp.Result
}

// eventually polls cond every interval until it returns nil or timeout
// passes, then fails with cond's last error.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v: %v", what, timeout, err)
		}
		time.Sleep(pollInterval / 4)
	}
}

// recvResult is one Recv of a server stream.
type recvResult[T any] struct {
	Msg *T
	Err error
	At  time.Time
}

// pump receives from s until it fails and delivers every result on the
// returned channel; the channel is closed after the first error. ctx must be
// the stream's context: cancelling it ends both the stream and the pump.
func pump[T any](ctx context.Context, s grpc.ServerStreamingClient[T]) <-chan recvResult[T] {
	ch := make(chan recvResult[T], 16)
	go func() {
		defer close(ch)
		for {
			m, err := s.Recv()
			select {
			case ch <- recvResult[T]{Msg: m, Err: err, At: time.Now()}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// statusOf describes err as "Code: message" for failure messages.
func statusOf(err error) string {
	st, _ := status.FromError(err)
	return fmt.Sprintf("%s: %q", st.Code(), st.Message())
}
