package kedacompat

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
)

// answer is one IsActive + GetMetrics pair, as KEDA asks per metric.
type answer struct {
	active bool
	value  float64
}

func (a answer) String() string { return fmt.Sprintf("active=%v value=%v", a.active, a.value) }

// TestReplicasAgreeUnderRoundRobin: two scaler replicas (two processes, two
// push stores) behind KEDA's own client with round_robin over both
// addresses (a manual resolver standing in for the headless Service's
// DNS); a gateway pushes a steady 100 requests/s to one replica only.
// With --push-peers each replica forwards what it accepts to the other:
// once both reach the steady decision, 40 GetMetrics and 40 IsActive
// calls over 4 s, alternating between the replicas, all give the same
// answer. Without forwarding the same setup disagrees: the replica nobody
// pushes to says inactive, 0.
func TestReplicasAgreeUnderRoundRobin(t *testing.T) {
	t.Run("forwarding", func(t *testing.T) { replicasUnderRoundRobin(t, true) })
	t.Run("without forwarding they disagree", func(t *testing.T) { replicasUnderRoundRobin(t, false) })
}

func replicasUnderRoundRobin(t *testing.T, forward bool) {
	const token = "kedacompat-push-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var addrs [2][2]string // gRPC, HTTP of each replica
	for i := range addrs {
		for j := range addrs[i] {
			a, err := freeAddr()
			if err != nil {
				t.Fatal(err)
			}
			addrs[i][j] = a
		}
	}
	var reps [2]*server
	for i := range reps {
		args := []string{"--push-token-file", tokenFile}
		if forward {
			args = append(args, "--push-peers", "http://"+addrs[1-i][1])
		}
		s, err := startServerAt(scalerBin, addrs[i][0], addrs[i][1], args...)
		if err != nil {
			t.Fatal(err)
		}
		reps[i] = s
		t.Cleanup(func() {
			if err := s.Stop(); err != nil {
				t.Errorf("replica %d did not stop cleanly: %v", i, err)
			}
			if t.Failed() {
				t.Logf("--- replica %d output (tail) ---\n%s", i, s.Tail(40))
			}
		})
	}

	// KEDA's client: one connection, round_robin over both replicas.
	r := manual.NewBuilderWithScheme("tide")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: addrs[0][0]}, {Addr: addrs[1][0]}}})
	conn, err := grpc.NewClient("tide:///tide.tide-system:9090", grpc.WithResolvers(r),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	keda := externalscaler.NewExternalScalerClient(conn)
	var direct [2]externalscaler.ExternalScalerClient // each replica alone, to see which one says what
	for i := range direct {
		c, cc, err := dial(addrs[i][0])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cc.Close() })
		direct[i] = c
	}

	so := ref(t, trigger{"scalerAddress": "tide.tide-system:9090", "source": "inference", "mode": "push",
		"model": "llama", "targetRequestRate": "15", "stableWindow": "6s"})
	name := metricSpec(t, keda, so).MetricName
	ask := func(c externalscaler.ExternalScalerClient) answer {
		t.Helper()
		v := metricValue(t, c, so, name)
		return answer{active: isActive(t, c, so), value: v.MetricValueFloat}
	}
	for i := range 4 { // idle: every answer is inactive, 0
		if a := ask(keda); a.active || a.value != 0 {
			t.Fatalf("call %d before any push: %v; want inactive, 0", i, a)
		}
	}

	// The gateway: 10 requests every 100 ms, to replica 0 only.
	ctx, stop := context.WithCancel(context.Background())
	gatewayDone := make(chan error, 1)
	pushed := make(chan struct{}, 1)
	go func() { gatewayDone <- gateway(ctx, "http://"+addrs[0][1]+"/v1/push", token, pushed) }()
	t.Cleanup(func() {
		stop()
		if err := <-gatewayDone; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})

	// KEDA asks GetMetrics then IsActive per metric: with round_robin
	// consecutive calls land on alternate replicas, so each kind of call is
	// looked at on its own.
	// With spread set, each call waits for the gateway's next push, so
	// the answers span pushes and polls of both replicas.
	rounds := func(n int, spread bool) (values map[float64]int, actives map[bool]int) {
		values, actives = map[float64]int{}, map[bool]int{}
		next := func() {
			if spread {
				<-pushed
			}
		}
		for range n {
			next()
			values[metricValue(t, keda, so, name).MetricValueFloat]++
		}
		for range n {
			next()
			actives[isActive(t, keda, so)]++
		}
		return values, actives
	}
	if !forward {
		eventually(t, 20*time.Second, "replica 0 to turn active", func() error {
			if a := ask(direct[0]); !a.active || a.value == 0 {
				return fmt.Errorf("replica 0: %v", a)
			}
			return nil
		})
		values, actives := rounds(10, false)
		if len(values) < 2 || len(actives) < 2 {
			t.Fatalf("without forwarding, round-robin GetMetrics answers %v and IsActive answers %v; want the replicas to disagree", values, actives)
		}
		t.Logf("without forwarding, round-robin GetMetrics answers %v, IsActive answers %v", values, actives)
		return
	}

	// The windows (6 s) fill and the panic of the cold start ends on both
	// replicas: 100 requests/s at 15 per replica is 7 replicas.
	want := answer{active: true, value: 7}
	eventually(t, 45*time.Second, "both replicas to reach the steady decision", func() error {
		for i := range direct {
			if a := ask(direct[i]); a != want {
				return fmt.Errorf("replica %d: %v; want %v", i, a, want)
			}
		}
		return nil
	})
	values, actives := rounds(40, true)
	if len(values) != 1 || values[want.value] != 40 || len(actives) != 1 || actives[true] != 40 {
		t.Errorf("round-robin answers: GetMetrics %v, IsActive %v; want all 40 of each %v", values, actives, want)
	}
}

// gateway pushes 10 requests every 100 ms to url until ctx ends, and
// signals each push answered on pushed (dropped when nobody waits).
func gateway(ctx context.Context, url, token string, pushed chan<- struct{}) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"model":"llama","count":10}`))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("push answered %d", resp.StatusCode)
		}
		select {
		case pushed <- struct{}{}:
		default:
		}
	}
}
