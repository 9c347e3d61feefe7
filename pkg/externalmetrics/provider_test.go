package externalmetrics

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/tide-scaler/tide/internal/testqueue"
	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// Three triggers share metric "jobs" in shop (told apart by selector), one
// has it in another namespace, and one uses replicas mode.
const providerConfig = `
triggers:
- {name: jobs-a, namespace: shop, metricName: jobs, maxReplicas: 10,
   scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: a}, metadata: {source: fake, queue: a, target: "5"}}
- {name: jobs-b, namespace: shop, metricName: jobs, maxReplicas: 10,
   scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: b}, metadata: {source: fake, queue: b, target: "5"}}
- {name: jobs-c, namespace: shop, metricName: jobs, maxReplicas: 10,
   scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: c}, metadata: {source: redis, address: "r:6379", listName: c}}
- {name: other, namespace: elsewhere, metricName: jobs, maxReplicas: 10,
   scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: o}, metadata: {source: fake, queue: o}}
- {name: counted, namespace: shop, maxReplicas: 10,
   scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: counted}, metadata: {source: fake, queue: counted, target: "5", metricMode: replicas}}
`

func newTestProvider(t *testing.T) (*Provider, *testqueue.Reader, *trigger.Cache) {
	t.Helper()
	r := testqueue.NewReader()
	cache := newCache(t, r)
	f := openWorkloads(t, providerConfig, cache)
	return NewProvider(f.Current, cache, nil), r, cache
}

func sel(t *testing.T, s string) labels.Selector {
	t.Helper()
	l, err := labels.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestListAllExternalMetricsListsEachNameOnce(t *testing.T) {
	p, _, _ := newTestProvider(t)
	got := p.ListAllExternalMetrics()
	want := []provider.ExternalMetricInfo{{Metric: "counted"}, {Metric: "jobs"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestGetExternalMetricPicksByNamespaceNameAndSelector(t *testing.T) {
	p, r, _ := newTestProvider(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r.Set("a", sources.Sample{Time: at, Value: 7.25})
	r.Set("b", sources.Sample{Time: at, Value: 40, Capacity: 3}) // capped at 3 x 5
	r.Set("o", sources.Sample{Time: at, Value: 99})

	for _, tc := range []struct {
		ns, selector, trigger string
		want                  string
	}{
		{"shop", "trigger=jobs-a", "jobs-a", "7250m"},
		{"shop", "trigger=jobs-b,source=fake", "jobs-b", "15"},
		{"shop", "trigger in (jobs-b, nope)", "jobs-b", "15"},
		{"elsewhere", "", "other", "99"}, // the only "jobs" there: no selector needed
	} {
		list, err := p.GetExternalMetric(t.Context(), tc.ns, sel(t, tc.selector), provider.ExternalMetricInfo{Metric: "jobs"})
		if err != nil {
			t.Fatalf("%s/%q: %v", tc.ns, tc.selector, err)
		}
		if len(list.Items) != 1 {
			t.Fatalf("%s/%q: %d values, want exactly 1 (the HPA sums them)", tc.ns, tc.selector, len(list.Items))
		}
		v := list.Items[0]
		if v.Value.String() != tc.want || v.MetricName != "jobs" || !v.Timestamp.Time.Equal(at) ||
			v.MetricLabels["trigger"] != tc.trigger || v.MetricLabels["source"] != "fake" {
			t.Errorf("%s/%q: got %s %s %v at %v; want %s from %s at %v",
				tc.ns, tc.selector, v.MetricName, v.Value.String(), v.MetricLabels, v.Timestamp, tc.want, tc.trigger, at)
		}
	}
}

func TestGetExternalMetricNotFoundAndAmbiguous(t *testing.T) {
	p, _, _ := newTestProvider(t)
	for _, tc := range []struct {
		ns, metric, selector string
		want                 []string
	}{
		{"shop", "nope", "", []string{`"nope"`, `"shop"`}},
		{"nowhere", "jobs", "", []string{`"jobs"`, `"nowhere"`}},
		{"shop", "jobs", "trigger=jobs-z", []string{`"jobs"`, `"shop"`, "trigger=jobs-z"}},
		// A label the values do not carry matches nothing.
		{"elsewhere", "jobs", "app=x", []string{`"jobs"`, "app=x"}},
	} {
		_, err := p.GetExternalMetric(t.Context(), tc.ns, sel(t, tc.selector), provider.ExternalMetricInfo{Metric: tc.metric})
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s/%s %q: err = %v, want NotFound", tc.ns, tc.metric, tc.selector, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q does not name %s", err, w)
			}
		}
	}
	_, err := p.GetExternalMetric(t.Context(), "shop", labels.Everything(), provider.ExternalMetricInfo{Metric: "jobs"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "jobs-a, jobs-b, jobs-c") {
		t.Errorf("three matches: err = %v, want BadRequest naming them", err)
	}
	_, err = p.GetExternalMetric(t.Context(), "shop", sel(t, "source=fake"), provider.ExternalMetricInfo{Metric: "jobs"})
	if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "jobs-a, jobs-b") {
		t.Errorf("two matches by source: err = %v, want BadRequest naming them", err)
	}
}

// A failing upstream is an error naming it, never a zero value.
func TestGetExternalMetricUpstreamErrorIsAnError(t *testing.T) {
	p, r, _ := newTestProvider(t)
	r.Fail("a", fmt.Errorf("fake://queues: %w: connection refused", sources.ErrUnavailable))
	list, err := p.GetExternalMetric(t.Context(), "shop", sel(t, "trigger=jobs-a"), provider.ExternalMetricInfo{Metric: "jobs"})
	if list != nil || !apierrors.IsServiceUnavailable(err) {
		t.Fatalf("got %v, %v; want no value and ServiceUnavailable", list, err)
	}
	for _, w := range []string{"jobs-a", "fake://queues", "connection refused"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not name %q", err, w)
		}
	}
	// A queue the upstream does not have is unavailable too: the HPA must
	// hold, not scale in.
	_, err = p.GetExternalMetric(t.Context(), "elsewhere", nil, provider.ExternalMetricInfo{Metric: "jobs"})
	if !apierrors.IsServiceUnavailable(err) || !strings.Contains(err.Error(), `queue "o": not found`) {
		t.Errorf("missing queue: err = %v, want ServiceUnavailable", err)
	}
}

// The value is the one the trigger core gives the shared instance, the
// one the gRPC path gets for the same metadata, in both modes.
func TestGetExternalMetricIsTheSharedTriggers(t *testing.T) {
	p, r, cache := newTestProvider(t)
	c := p.config()
	for i, depth := range []float64{0, 0.001, 1.001, 23, 40, 1e6} {
		at := time.Unix(int64(i+1), 0)
		r.Set("a", sources.Sample{Time: at, Value: depth})
		r.Set("counted", sources.Sample{Time: at, Value: depth, Capacity: 4})
		for _, tc := range []struct{ entry, metric string }{{"jobs-a", "jobs"}, {"counted", "counted"}} {
			var w *workload.Workload
			for i := range c.Workloads {
				if c.Workloads[i].Name == tc.entry {
					w = &c.Workloads[i]
				}
			}
			grpc, err := cache.Get(w.Metadata, time.Now()) // what the gRPC face asks
			if err != nil || grpc != w.Trigger() {
				t.Fatalf("the gRPC face gets %p, %v; the entry holds %p", grpc, err, w.Trigger())
			}
			want, err := cache.Read(t.Context(), grpc)
			if err != nil {
				t.Fatal(err)
			}
			list, err := p.GetExternalMetric(t.Context(), "shop", sel(t, "trigger="+tc.entry), provider.ExternalMetricInfo{Metric: tc.metric})
			if err != nil {
				t.Fatal(err)
			}
			// The API carries milli precision; the reading a float.
			if got := list.Items[0].Value.MilliValue(); got != int64(math.Round(want.Value*1000)) {
				t.Errorf("%s at depth %v: API %vm, reading %v", tc.entry, depth, got, want.Value)
			}
		}
	}
	// Replicas mode sends the count: ceil(min(23, 4x5)/5) = 4.
	r.Set("counted", sources.Sample{Time: time.Unix(100, 0), Value: 23, Capacity: 4})
	list, err := p.GetExternalMetric(t.Context(), "shop", nil, provider.ExternalMetricInfo{Metric: "counted"})
	if err != nil || list.Items[0].Value.String() != "4" {
		t.Errorf("replicas mode: %v, %v; want 4", list, err)
	}
}

func TestMilliRoundsAndSaturates(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1.001: "1001m", 0.0004: "0", 2.5: "2500m", -3: "0", 1e30: "9223372036854775807m"} {
		if got := milli(v).String(); got != want {
			t.Errorf("milli(%v) = %s, want %s", v, got, want)
		}
	}
}
