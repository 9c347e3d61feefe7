package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/sources/inference"
)

func ptr[T any](v T) *T { return &v }

type ep struct {
	pod         string
	ip          string
	ready       *bool
	terminating bool
}

func slice(ns, service, name string, port int32, eps ...ep) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Port: ptr(port), Protocol: ptr(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{e.ip},
			Conditions: discoveryv1.EndpointConditions{Ready: e.ready, Terminating: ptr(e.terminating)},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Name: e.pod, Namespace: ns},
		})
	}
	return s
}

// fakeClient is the fake clientset's discovery/v1 client. Like the fake
// clientset itself, it tells the reflector that it cannot stream a
// watch-list, so the informer lists and watches instead.
type fakeClient struct{ Client }

func (fakeClient) IsWatchListSemanticsUnSupported() bool { return true }

func clientOf(c kubernetes.Interface) func() (Client, error) {
	return func() (Client, error) { return fakeClient{c.DiscoveryV1()}, nil }
}

func endpoints(t *testing.T, svc inference.Service) []inference.ServiceEndpoint {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	eps, err := svc.Endpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(eps, func(a, b inference.ServiceEndpoint) int { return strings.Compare(a.IP, b.IP) })
	return eps
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFollowEndpointSlices(t *testing.T) {
	c := fake.NewClientset(
		slice("ai", "vllm", "vllm-abc", 8000,
			ep{pod: "vllm-0", ip: "10.0.0.1", ready: ptr(true)},
			ep{pod: "vllm-1", ip: "10.0.0.2", ready: ptr(false)},                   // Pending or starting
			ep{pod: "vllm-2", ip: "10.0.0.3", ready: ptr(true), terminating: true}, // draining
			ep{pod: "vllm-3", ip: "10.0.0.4"}),                                     // ready unset: ready
		slice("ai", "other", "other-xyz", 9000, ep{pod: "o", ip: "10.0.9.9", ready: ptr(true)}),
		slice("elsewhere", "vllm", "vllm-def", 8000, ep{pod: "x", ip: "10.0.8.8", ready: ptr(true)}),
	)
	k := New(clientOf(c))
	defer k.Close()
	svc, err := k.Follow("ai", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range endpoints(t, svc) {
		got = append(got, fmt.Sprintf("%s/%s/%d/%v", e.Pod, e.IP, e.Ports["http"], e.Ready))
	}
	want := []string{"vllm-0/10.0.0.1/8000/true", "vllm-1/10.0.0.2/8000/false", "vllm-2/10.0.0.3/8000/false", "vllm-3/10.0.0.4/8000/true"}
	if !slices.Equal(got, want) {
		t.Errorf("endpoints %v, want %v", got, want)
	}

	// A pod turns ready: the informer follows.
	s, _ := c.DiscoveryV1().EndpointSlices("ai").Get(t.Context(), "vllm-abc", metav1.GetOptions{})
	s.Endpoints[1].Conditions.Ready = ptr(true)
	if _, err := c.DiscoveryV1().EndpointSlices("ai").Update(t.Context(), s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "vllm-1 to turn ready", func() bool { return endpoints(t, svc)[1].Ready })

	// Shared and reference-counted.
	again, _ := k.Follow("ai", "vllm")
	svc.Close()
	svc.Close() // idempotent
	if len(endpoints(t, again)) != 4 {
		t.Error("second follower lost the endpoints when the first closed")
	}
	again.Close()
	k.mu.Lock()
	left := len(k.follows)
	k.mu.Unlock()
	if left != 0 {
		t.Errorf("%d informers left after every follower closed", left)
	}
}

func TestFollowErrors(t *testing.T) {
	k := New(func() (Client, error) { return nil, errors.New("not in a cluster") })
	if _, err := k.Follow("ai", "vllm"); err == nil || !strings.Contains(err.Error(), "not in a cluster") {
		t.Errorf("Follow with no client: %v", err)
	}
	k.Close()
	closed := New(clientOf(fake.NewClientset()))
	closed.Close()
	if _, err := closed.Follow("ai", "vllm"); err == nil {
		t.Error("Follow after Close succeeded")
	}
	// An empty Service is no endpoints, not an error.
	k = New(clientOf(fake.NewClientset()))
	defer k.Close()
	svc, _ := k.Follow("ai", "nothing")
	if eps := endpoints(t, svc); len(eps) != 0 {
		t.Errorf("endpoints of an empty service: %v", eps)
	}
}

// exposition serves a fixed vLLM-style gauge.
func exposition(waiting int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"m\"} %d\n", waiting)
	}))
}

// TestScrapeThroughDiscovery: an inference trigger with `service` scrapes
// exactly the ready endpoints of the Service's EndpointSlices.
func TestScrapeThroughDiscovery(t *testing.T) {
	var objs []*discoveryv1.EndpointSlice
	for i, waiting := range []int{3, 4} {
		srv := exposition(waiting)
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
		n, _ := strconv.Atoi(port)
		objs = append(objs, slice("ai", "vllm", fmt.Sprintf("vllm-%d", i), int32(n),
			ep{pod: fmt.Sprintf("vllm-%d", i), ip: "127.0.0.1", ready: ptr(true)}))
	}
	// A Pending pod: scraping it would fail; it must not be scraped at all.
	objs = append(objs, slice("ai", "vllm", "vllm-pending", 1, ep{pod: "vllm-9", ip: "127.0.0.9", ready: ptr(false)}))
	c := fake.NewClientset(objs[0], objs[1], objs[2])
	k := New(clientOf(c))
	defer k.Close()
	tr, err := inference.Parse(metadata.Metadata{"service": "vllm", "namespace": "ai", "port": "http", "targetWaiting": "1"},
		inference.Env{Discovery: k})
	if err != nil {
		t.Fatal(err)
	}
	up, err := tr.Query().Open()
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := up.Poll(ctx, time.Unix(1_800_000_000, 0), []sources.Query{tr.Query()})[0]
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Sample.Value != 7 || !strings.Contains(r.Sample.Parts[0].Info, "ready=2") {
		t.Errorf("sample %+v; want 7 replicas from 2 ready pods", r.Sample)
	}
	var names []string
	for _, p := range r.Sample.Parts[1:] {
		names = append(names, p.Name)
	}
	if !slices.Contains(names, "vllm-0") || !slices.Contains(names, "vllm-1") || slices.Contains(names, "vllm-9") {
		t.Errorf("parts %v", names)
	}
	found := false
	for _, n := range r.Sample.Notes {
		found = found || strings.Contains(n, "not ready")
	}
	if !found {
		t.Errorf("notes %v lack the not-ready note", r.Sample.Notes)
	}
}
