package kedacompat

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
)

// TestGetMetricSpec: exactly one spec, both targets filled from lagThreshold,
// a non-empty name that is stable across calls, and metricName overrides it.
func TestGetMetricSpec(t *testing.T) {
	f := kafka.NewLag(t, 3, 10, 10)
	tests := []struct {
		name       string
		overrides  map[string]string
		wantTarget int64
		wantName   string // "" means any non-empty name
	}{
		{name: "default lagThreshold is 10", overrides: map[string]string{"lagThreshold": ""}, wantTarget: 10},
		{name: "lagThreshold 5", overrides: map[string]string{"lagThreshold": "5"}, wantTarget: 5},
		{name: "lagThreshold 10", wantTarget: 10},
		{name: "metricName overrides the name", overrides: map[string]string{"lagThreshold": "7", "metricName": "kedacompat-orders-lag"}, wantTarget: 7, wantName: "kedacompat-orders-lag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ref(t, triggerFor(f, tc.overrides))
			first := metricSpec(t, keda, r)
			if first.TargetSize != tc.wantTarget || first.TargetSizeFloat != float64(tc.wantTarget) {
				t.Errorf("targetSize %d, targetSizeFloat %v; want %d and %v (both filled)",
					first.TargetSize, first.TargetSizeFloat, tc.wantTarget, float64(tc.wantTarget))
			}
			if tc.wantName != "" && first.MetricName != tc.wantName {
				t.Errorf("metricName %q, want the metadata's metricName %q", first.MetricName, tc.wantName)
			}
			for i := range 3 {
				again := metricSpec(t, keda, r)
				if again.MetricName != first.MetricName || again.TargetSize != first.TargetSize || again.TargetSizeFloat != first.TargetSizeFloat {
					t.Fatalf("call %d returned %v, first call returned %v: the spec must be stable", i+2, again, first)
				}
			}
			t.Logf("spec: name %q target %d / %v", first.MetricName, first.TargetSize, first.TargetSizeFloat)
		})
	}
}

// TestGetMetrics: GetMetrics for the spec's name (KEDA strips its sN- prefix
// and sends the rest) returns exactly one value, named as requested, whose
// int and float fields both equal the group's total lag.
func TestGetMetrics(t *testing.T) {
	tests := []struct {
		name                            string
		partitions, produced, committed int
		overrides                       map[string]string
	}{
		{name: "6 partitions 50 produced 20 committed", partitions: 6, produced: 50, committed: 20},
		{name: "committed to the end", partitions: 4, produced: 40, committed: 40},
		{name: "single partition", partitions: 1, produced: 7, committed: 2},
		{name: "metricName override", partitions: 6, produced: 50, committed: 20,
			overrides: map[string]string{"metricName": "kedacompat-custom-lag"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := kafka.NewLag(t, tc.partitions, tc.produced, tc.committed)
			want := f.Lag()
			r := ref(t, triggerFor(f, tc.overrides))
			spec := metricSpec(t, keda, r)
			if name := tc.overrides["metricName"]; name != "" && spec.MetricName != name {
				t.Errorf("spec name %q, want the metricName override %q", spec.MetricName, name)
			}
			v := metricValue(t, keda, r, spec.MetricName)
			if v.MetricValue != want || v.MetricValueFloat != float64(want) {
				t.Errorf("GetMetrics(%q) = metricValue %d, metricValueFloat %v; want lag %d in both (group %s, topic %s)",
					spec.MetricName, v.MetricValue, v.MetricValueFloat, want, f.Group, f.Topic)
			}
		})
	}
}

// hpaReplicas is what the HPA computes for an AverageValue external metric:
// KEDA turns the target and the value into milli-quantities (truncating to
// int64), and the HPA takes ceil(value / target).
func hpaReplicas(spec *externalscaler.MetricSpec, v *externalscaler.MetricValue) int64 {
	target := spec.TargetSizeFloat
	if target <= 0 {
		target = float64(spec.TargetSize)
	}
	value := v.MetricValueFloat
	if value <= 0 {
		value = float64(v.MetricValue)
	}
	targetMilli := int64(target * 1000)
	valueMilli := int64(value * 1000)
	return int64(math.Ceil(float64(valueMilli) / float64(targetMilli)))
}

// TestPartitionCap: 10 partitions, lagThreshold 10, total lag 105. KEDA's own
// Kafka scaler lets the HPA reach 11 replicas here; ours must stop at the
// partition count, and being over the cap it must reach it.
func TestPartitionCap(t *testing.T) {
	const partitions = 10
	f := kafka.NewLag(t, partitions, 105, 0)
	r := ref(t, triggerFor(f, map[string]string{"lagThreshold": "10"}))
	spec := metricSpec(t, keda, r)
	v := metricValue(t, keda, r, spec.MetricName)
	replicas := hpaReplicas(spec, v)
	t.Logf("lag %d, target %v, returned value %d / %v -> HPA replicas %d (KEDA's kafka scaler: 11)",
		f.Lag(), spec.TargetSizeFloat, v.MetricValue, v.MetricValueFloat, replicas)
	if replicas > partitions {
		t.Errorf("HPA would compute %d replicas from value %v / target %v, want at most %d (the partition count)",
			replicas, v.MetricValueFloat, spec.TargetSizeFloat, partitions)
	}
	if replicas < partitions {
		t.Errorf("HPA would compute %d replicas from value %v / target %v, want %d: lag %d exceeds %d partitions x threshold 10",
			replicas, v.MetricValueFloat, spec.TargetSizeFloat, partitions, f.Lag(), partitions)
	}
}

// TestIsActive: active iff total lag > activationLagThreshold.
func TestIsActive(t *testing.T) {
	tests := []struct {
		name                string
		produced, committed int
		activation          string // "" = unset (default 0)
		want                bool
	}{
		{name: "lag 0 activation 0", produced: 30, committed: 30, activation: "0", want: false},
		{name: "lag 0 default activation", produced: 30, committed: 30, activation: "", want: false},
		{name: "lag 30 activation 0", produced: 50, committed: 20, activation: "0", want: true},
		{name: "lag 30 default activation", produced: 50, committed: 20, activation: "", want: true},
		{name: "lag 30 activation 40", produced: 50, committed: 20, activation: "40", want: false},
		{name: "lag 30 activation 30", produced: 50, committed: 20, activation: "30", want: false},
		{name: "lag 30 activation 29", produced: 50, committed: 20, activation: "29", want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := kafka.NewLag(t, 6, tc.produced, tc.committed)
			r := ref(t, triggerFor(f, map[string]string{"activationLagThreshold": tc.activation}))
			if got := isActive(t, keda, r); got != tc.want {
				t.Errorf("IsActive = %v with lag %d and activationLagThreshold %q, want %v", got, f.Lag(), tc.activation, tc.want)
			}
		})
	}
}

// TestStreamIsActive: a stream opened at lag 0 reports the current state
// (false) and then true within a few poll intervals of lag appearing.
func TestStreamIsActive(t *testing.T) {
	const bound = 5 * time.Second
	f := kafka.NewLag(t, 3, 12, 12)
	r := ref(t, triggerFor(f, nil))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	stream, err := keda.StreamIsActive(ctx, r)
	if err != nil {
		t.Fatalf("StreamIsActive: %v", err)
	}
	msgs := pump(ctx, stream)

	recv := func(within time.Duration) recvResult[externalscaler.IsActiveResponse] {
		t.Helper()
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("stream ended")
			}
			if m.Err != nil {
				if status.Code(m.Err) == codes.Unimplemented {
					t.Fatalf("StreamIsActive is not implemented: %s", statusOf(m.Err))
				}
				t.Fatalf("StreamIsActive Recv: %s", statusOf(m.Err))
			}
			return m
		case <-time.After(within):
			t.Fatalf("no StreamIsActive message within %v", within)
		}
		panic("unreachable")
	}

	first := recv(bound)
	if first.Msg.Result {
		t.Fatalf("first StreamIsActive message is true at lag 0 (the stream must send the current state on open)")
	}

	kafka.AddLag(t, &f, 5)
	produced := time.Now()
	deadline := produced.Add(bound)
	var lastTrue time.Time
	for lastTrue.IsZero() {
		m := recv(time.Until(deadline))
		if m.Msg.Result {
			lastTrue = m.At
			t.Logf("StreamIsActive latency: true %v after the produce was acknowledged (poll interval %v)", m.At.Sub(produced), pollInterval)
		}
	}

	// While active the server repeats true (every --stream-repeat, 5 s by
	// default), so a KEDA that missed one still scales from zero.
	const repeatBound = 10 * time.Second
	repeatDeadline := lastTrue.Add(repeatBound)
	for {
		m := recv(time.Until(repeatDeadline))
		if m.Msg.Result {
			t.Logf("StreamIsActive repeated true %v after the previous one", m.At.Sub(lastTrue))
			break
		}
		t.Errorf("StreamIsActive sent false while lag is %d (> activationLagThreshold 0)", f.Lag())
	}
}

// TestStreamMetricSpec: the stream sends the current spec as soon as it
// opens, identical to GetMetricSpec's.
func TestStreamMetricSpec(t *testing.T) {
	f := kafka.NewLag(t, 3, 10, 4)
	tests := []struct {
		name      string
		overrides map[string]string
	}{
		{name: "default"},
		{name: "lagThreshold 5", overrides: map[string]string{"lagThreshold": "5"}},
		{name: "metricName override", overrides: map[string]string{"metricName": "kedacompat-streamed-lag"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ref(t, triggerFor(f, tc.overrides))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stream, err := keda.StreamMetricSpec(ctx, r)
			if err != nil {
				t.Fatalf("StreamMetricSpec: %s", statusOf(err))
			}
			msgs := pump(ctx, stream)
			var got *externalscaler.GetMetricSpecResponse
			select {
			case m := <-msgs:
				if m.Err != nil {
					if status.Code(m.Err) == codes.Unimplemented {
						t.Fatalf("StreamMetricSpec answered Unimplemented; Tide implements it: %s", statusOf(m.Err))
					}
					t.Fatalf("StreamMetricSpec Recv: %s", statusOf(m.Err))
				}
				got = m.Msg
			case <-time.After(5 * time.Second):
				t.Fatal("StreamMetricSpec sent nothing within 5s of opening; it must send the current spec at once")
			}
			checkSpecs(t, "StreamMetricSpec", got)
			streamed := got.MetricSpecs[0]
			pulled := metricSpec(t, keda, r)
			if streamed.MetricName != pulled.MetricName || streamed.TargetSize != pulled.TargetSize || streamed.TargetSizeFloat != pulled.TargetSizeFloat {
				t.Errorf("StreamMetricSpec sent %v, GetMetricSpec returns %v: they must agree", streamed, pulled)
			}
		})
	}
}

// TestErrors: bad metadata and unreadable upstreams are gRPC errors with a
// precise code and a message naming the culprit, never a zero; and they do
// not disturb a valid trigger served by the same process.
func TestErrors(t *testing.T) {
	control := kafka.NewLag(t, 3, 20, 5)
	controlRef := ref(t, triggerFor(control, nil))
	controlSpec := metricSpec(t, keda, controlRef)

	closed, err := freeAddr() // nothing listens there any more
	if err != nil {
		t.Fatal(err)
	}
	missingTopic := uniqueName(t, "no-such-topic")

	tests := []struct {
		name string
		md   trigger
		// specOK: valid metadata, so GetMetricSpec must succeed (it does no I/O).
		specOK bool
		// codes GetMetrics and IsActive (and GetMetricSpec unless specOK) may answer.
		codes    []codes.Code
		contains []string
	}{
		{
			name:     "missing consumerGroup",
			md:       triggerFor(control, map[string]string{"consumerGroup": ""}),
			codes:    []codes.Code{codes.InvalidArgument},
			contains: []string{"consumerGroup"},
		},
		{
			name:     "non-numeric lagThreshold",
			md:       triggerFor(control, map[string]string{"lagThreshold": "abc"}),
			codes:    []codes.Code{codes.InvalidArgument},
			contains: []string{"lagThreshold", "abc"},
		},
		{
			name:     "unknown source",
			md:       triggerFor(control, map[string]string{"source": "nope"}),
			codes:    []codes.Code{codes.InvalidArgument},
			contains: []string{"source"},
		},
		{
			name:     "topic does not exist",
			md:       triggerFor(control, map[string]string{"topic": missingTopic}),
			specOK:   true,
			codes:    []codes.Code{codes.NotFound, codes.Unavailable},
			contains: []string{missingTopic},
		},
		{
			name:   "unreachable brokers",
			md:     kafkaTrigger(srv.GRPCAddr, closed, uniqueName(t, "group"), uniqueName(t, "topic"), nil),
			specOK: true,
			codes:  []codes.Code{codes.Unavailable},
		},
	}

	checkErr := func(t *testing.T, rpc string, err error, elapsed time.Duration, want []codes.Code, contains []string) {
		t.Helper()
		st, _ := status.FromError(err)
		okCode := false
		for _, c := range want {
			okCode = okCode || st.Code() == c
		}
		if !okCode {
			t.Errorf("%s answered %s after %v, want code %v", rpc, statusOf(err), elapsed, want)
		}
		for _, s := range contains {
			if !strings.Contains(st.Message(), s) {
				t.Errorf("%s error message %q does not name %q", rpc, st.Message(), s)
			}
		}
		t.Logf("%s -> %s in %v", rpc, statusOf(err), elapsed)
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ref(t, tc.md)
			metricName := "kedacompat-error-case"

			t.Run("GetMetricSpec", func(t *testing.T) {
				// KEDA's HPA path allows 3 s for all three RPCs together.
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				defer cancel()
				start := time.Now()
				resp, err := keda.GetMetricSpec(ctx, r)
				elapsed := time.Since(start)
				switch {
				case tc.specOK && err != nil:
					t.Errorf("GetMetricSpec failed for valid metadata after %v: %s (it must do no I/O and never fail)", elapsed, statusOf(err))
				case tc.specOK:
					checkSpecs(t, "GetMetricSpec", resp)
					metricName = resp.MetricSpecs[0].MetricName
					t.Logf("GetMetricSpec -> %q in %v", metricName, elapsed)
				case err == nil:
					t.Errorf("GetMetricSpec succeeded (%v), want %v naming %q", resp, tc.codes, tc.contains)
				default:
					checkErr(t, "GetMetricSpec", err, elapsed, tc.codes, tc.contains)
				}
			})

			t.Run("GetMetrics", func(t *testing.T) {
				start := time.Now()
				resp, err := keda.GetMetrics(rpcCtx(t), &externalscaler.GetMetricsRequest{ScaledObjectRef: r, MetricName: metricName})
				elapsed := time.Since(start)
				if err == nil {
					t.Fatalf("GetMetrics succeeded with %v after %v, want an error %v (never a value)", resp.GetMetricValues(), elapsed, tc.codes)
				}
				checkErr(t, "GetMetrics", err, elapsed, tc.codes, tc.contains)
			})

			t.Run("IsActive", func(t *testing.T) {
				start := time.Now()
				resp, err := keda.IsActive(rpcCtx(t), r)
				elapsed := time.Since(start)
				if err == nil {
					t.Fatalf("IsActive succeeded with %v after %v, want an error %v (an unknown state is not inactive)", resp.GetResult(), elapsed, tc.codes)
				}
				checkErr(t, "IsActive", err, elapsed, tc.codes, tc.contains)
			})

			t.Run("valid trigger still served", func(t *testing.T) {
				v := metricValue(t, keda, controlRef, controlSpec.MetricName)
				if v.MetricValue != control.Lag() || v.MetricValueFloat != float64(control.Lag()) {
					t.Errorf("control trigger GetMetrics = %d / %v after the error case, want %d", v.MetricValue, v.MetricValueFloat, control.Lag())
				}
				if !isActive(t, keda, controlRef) {
					t.Errorf("control trigger IsActive = false with lag %d after the error case, want true", control.Lag())
				}
				if s := metricSpec(t, keda, controlRef); s.MetricName != controlSpec.MetricName || s.TargetSizeFloat != controlSpec.TargetSizeFloat {
					t.Errorf("control trigger spec changed to %v from %v after the error case", s, controlSpec)
				}
			})
		})
	}
}

// TestGracefulShutdown: on SIGTERM an open StreamIsActive ends with status OK
// (io.EOF on the client, which resets KEDA's reconnect backoff) and the
// process exits within --shutdown-timeout.
func TestGracefulShutdown(t *testing.T) {
	const shutdownTimeout = 5 * time.Second
	s, err := startServer(scalerBin, "--shutdown-timeout", shutdownTimeout.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("--- server output (tail) ---\n%s", s.Tail(60))
		}
	})
	client, conn, err := dial(s.GRPCAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	f := kafka.NewLag(t, 3, 9, 3)
	r := ref(t, kafkaTrigger(s.GRPCAddr, kafka.Bootstrap(), f.Group, f.Topic, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	stream, err := client.StreamIsActive(ctx, r)
	if err != nil {
		t.Fatalf("StreamIsActive: %v", err)
	}
	msgs := pump(ctx, stream)
	select {
	case m := <-msgs:
		if m.Err != nil {
			t.Fatalf("StreamIsActive Recv before shutdown: %s", statusOf(m.Err))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("StreamIsActive sent nothing within 5s of opening")
	}

	if err := s.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	signalled := time.Now()

	// The stream must end, with OK, before the process is gone.
	streamBound := time.After(shutdownTimeout + time.Second)
streamLoop:
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("stream pump closed without a final result")
			}
			if m.Err == nil {
				continue // a last state update is fine
			}
			if !errors.Is(m.Err, io.EOF) {
				t.Errorf("after SIGTERM the stream ended with %s after %v, want status OK (io.EOF)", statusOf(m.Err), m.At.Sub(signalled))
			} else {
				t.Logf("stream ended with OK %v after SIGTERM", m.At.Sub(signalled))
			}
			break streamLoop
		case <-streamBound:
			t.Errorf("stream still open %v after SIGTERM", shutdownTimeout+time.Second)
			break streamLoop
		}
	}

	// Allow a little scheduling slack beyond the configured timeout.
	select {
	case <-s.Done():
		took := s.ExitedAt().Sub(signalled)
		t.Logf("process exited %v after SIGTERM: %v", took, s.ExitErr())
		if took > shutdownTimeout+time.Second {
			t.Errorf("process took %v to exit after SIGTERM, want within --shutdown-timeout %v", took, shutdownTimeout)
		}
		if err := s.ExitErr(); err != nil {
			t.Errorf("process exit after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(shutdownTimeout + 2*time.Second):
		t.Errorf("process still running %v after SIGTERM (--shutdown-timeout %v)", shutdownTimeout+2*time.Second, shutdownTimeout)
	}
}
