package externalmetrics

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/tide-scaler/tide/pkg/trigger"
	"github.com/tide-scaler/tide/pkg/workload"
)

// Labels every value carries; an HPA whose metric matches several triggers
// selects one with them (selector: {matchLabels: {trigger: orders}}).
const (
	LabelTrigger = "trigger"
	LabelSource  = "source"
)

// Provider serves the entries of the current workload configuration as
// external metrics. Each value is the one the trigger core's shared
// instance gives (Cache.Read), so an HPA reading the API directly sees
// what KEDA would get over gRPC for the same metadata.
type Provider struct {
	config func() *workload.Config
	cache  *trigger.Cache
	now    func() time.Time
}

var _ provider.ExternalMetricsProvider = (*Provider)(nil)

// NewProvider serves the configuration config returns at each request (so a
// reload takes effect on the next one), reading through cache. now stamps a
// sample that has no time (default time.Now).
func NewProvider(config func() *workload.Config, cache *trigger.Cache, now func() time.Time) *Provider {
	if now == nil {
		now = time.Now
	}
	return &Provider{config: config, cache: cache, now: now}
}

// ListAllExternalMetrics lists each metric name once, however many triggers
// share it; it backs API discovery.
func (p *Provider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	c := p.current()
	var names []string
	for i := range c.Workloads {
		names = append(names, c.Workloads[i].Metric())
	}
	slices.Sort(names)
	out := make([]provider.ExternalMetricInfo, 0, len(names))
	for _, n := range slices.Compact(names) {
		out = append(out, provider.ExternalMetricInfo{Metric: n})
	}
	return out
}

// GetExternalMetric answers the HPA for one metric in one namespace with
// exactly one value: the HPA sums every value it gets, so two entries
// answering at once would double the demand. Entries are matched by
// namespace and metric name, then by the selector against their labels;
// none is NotFound, several is a BadRequest asking for a narrower selector.
// A failing upstream is ServiceUnavailable, never a zero: a zero would scale
// the workload in just when its queue cannot be read.
func (p *Provider) GetExternalMetric(ctx context.Context, namespace string, selector labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	if selector == nil {
		selector = labels.Everything()
	}
	c := p.current()
	var found []*workload.Workload
	for i := range c.Workloads {
		w := &c.Workloads[i]
		if w.Namespace == namespace && w.Metric() == info.Metric && selector.Matches(labelsOf(w)) {
			found = append(found, w)
		}
	}
	switch len(found) {
	case 0:
		return nil, notFound(namespace, info.Metric, selector)
	case 1:
	default:
		names := make([]string, len(found))
		for i, w := range found {
			names[i] = w.Name
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf(
			"external metric %q in namespace %q matches triggers %s; select one with a label selector such as %s=%s",
			info.Metric, namespace, strings.Join(names, ", "), LabelTrigger, names[0]))
	}
	w := found[0]
	t := w.Trigger()
	if t == nil {
		// Only a Config built in code and never validated gets here.
		return nil, apierrors.NewInternalError(fmt.Errorf("trigger %q was not validated", w.Name))
	}
	r, err := p.cache.Read(ctx, t)
	if err != nil {
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("trigger %q: upstream %s: %v", w.Name, t.Upstream(), err))
	}
	ts := r.Sample.Time
	if ts.IsZero() {
		ts = p.now()
	}
	return &external_metrics.ExternalMetricValueList{Items: []external_metrics.ExternalMetricValue{{
		MetricName:   info.Metric,
		MetricLabels: labelsOf(w),
		Timestamp:    metav1.NewTime(ts),
		Value:        *milli(r.Value),
	}}}, nil
}

// current never returns nil, so a provider built before its first config
// serves nothing rather than panicking.
func (p *Provider) current() *workload.Config {
	if c := p.config(); c != nil {
		return c
	}
	return &workload.Config{}
}

func labelsOf(w *workload.Workload) labels.Set {
	return labels.Set{LabelTrigger: w.Name, LabelSource: strings.TrimSpace(w.Metadata["source"])}
}

// notFound is a NotFound status whose message names the metric, the
// namespace and, when one was given, the selector.
func notFound(namespace, metric string, selector labels.Selector) error {
	err := apierrors.NewNotFound(external_metrics.Resource(metric), metric)
	msg := fmt.Sprintf("external metric %q not found in namespace %q", metric, namespace)
	if !selector.Empty() {
		msg += fmt.Sprintf(" with selector %q", selector.String())
	}
	err.ErrStatus.Message = msg
	return err
}

// milli is v with milli precision, rounded (1.001*1000 is 1000.99...,
// which truncation would turn into 1) and clamped so that a huge demand
// saturates instead of wrapping to a negative quantity.
func milli(v float64) *resource.Quantity {
	m := math.Round(v * 1000)
	switch {
	case math.IsNaN(m) || m < 0:
		m = 0
	case m >= math.MaxInt64:
		return resource.NewMilliQuantity(math.MaxInt64, resource.DecimalSI)
	}
	return resource.NewMilliQuantity(int64(m), resource.DecimalSI)
}
