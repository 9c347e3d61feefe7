package metrics

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// gaugeVecs are the six GaugeVecs the series were before PerMetric (names,
// help and labels as they were): the baseline it must export exactly like.
func gaugeVecs(reg prometheus.Registerer) [numSeries]*prometheus.GaugeVec {
	so := []string{"namespace", "scaledobject", "metric"}
	vec := func(name, help string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "tide", Name: name, Help: help}, so)
		reg.MustRegister(v)
		return v
	}
	return [numSeries]*prometheus.GaugeVec{
		Value:      vec("metric_value", "Last metric value sent to KEDA for a ScaledObject's metric."),
		Target:     vec("metric_target", "Target of a ScaledObject's metric as sent in its metric spec (AverageValue per replica)."),
		SampleAge:  vec("sample_age_seconds", "Age of the upstream sample behind the last value sent for a ScaledObject's metric, when it was sent."),
		Replicas:   vec("desired_replicas", "Replicas the HPA derives from the last value sent (AverageValue, from zero)."),
		Active:     vec("active", "1 when the last activation answer for a ScaledObject's metric was true."),
		LagSeconds: vec("lag_seconds", "Age of the oldest message not yet consumed, for sources that estimate it (Kafka)."),
	}
}

// exposition is the text format of what g gathers.
func exposition(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return buf.String()
}

// TestPerMetricExportsLikeGaugeVecs: the same values set on PerMetric and
// on the GaugeVecs it replaced give the same /metrics text, byte for byte:
// names, help, types, labels and values, the lag series only once set, the
// other five from the first use; series go with their last user, not
// before.
func TestPerMetricExportsLikeGaugeVecs(t *testing.T) {
	newReg, oldReg := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	p := newPerMetric()
	newReg.MustRegister(p)
	old := gaugeVecs(oldReg)
	keys := []MetricKey{{"ns", "so", "s0-jobs"}, {"ns", "other", "s0-jobs"}, {"b", "so", "s1-orders"}}
	held := map[MetricKey][]*MetricSeries{}
	for i, k := range keys {
		s := p.Acquire(k)
		held[k] = append(held[k], s)
		labels := []string{k.Namespace, k.ScaledObject, k.Metric}
		for w := range numSeries {
			if w == LagSeconds && i == 1 {
				continue // never set: no series
			}
			if w == SampleAge && i == 2 {
				old[w].WithLabelValues(labels...) // exported at 0, never set
				continue
			}
			v := float64(i*10) + float64(w) + 0.5
			s.Set(w, v)
			old[w].WithLabelValues(labels...).Set(v)
		}
	}
	// A second user of the first key (another trigger with the same labels).
	held[keys[0]] = append(held[keys[0]], p.Acquire(keys[0]))
	if got, want := exposition(t, newReg), exposition(t, oldReg); got != want {
		t.Fatalf("PerMetric exports\n%s\nthe GaugeVecs exported\n%s", got, want)
	}

	p.Release(held[keys[0]][0])
	p.Release(held[keys[2]][0])
	for w := range numSeries {
		old[w].DeleteLabelValues(keys[2].Namespace, keys[2].ScaledObject, keys[2].Metric)
	}
	if got, want := exposition(t, newReg), exposition(t, oldReg); got != want {
		t.Fatalf("after releases, PerMetric exports\n%s\nwant\n%s", got, want)
	}
	if v, ok := p.Get(keys[0], Value); !ok || v != 0.5 {
		t.Errorf("Get(%v, Value) = %v, %v; want 0.5, true (one user left)", keys[0], v, ok)
	}
	p.Release(held[keys[0]][1])
	if _, ok := p.Get(keys[0], Value); ok || p.Len() != 1 {
		t.Errorf("after its last user let go, %v is still exported (%d held)", keys[0], p.Len())
	}
}

// TestPerMetricRepairsLabelValues: a label value that is not UTF-8 does not
// break the scrape (Prometheus refuses such a value; a GaugeVec panicked).
func TestPerMetricRepairsLabelValues(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	p := newPerMetric()
	reg.MustRegister(p)
	p.Acquire(MetricKey{"ns", "so\xff", "m"}).Set(Value, 1)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Get(MetricKey{"ns", "so\uFFFD", "m"}, Value); !ok {
		t.Error("the repaired key is not held")
	}
}

// BenchmarkScrape gathers and encodes the series of 10,000 ScaledObject
// metrics (six series each, 60,000 samples), through PerMetric and through
// the six GaugeVecs it replaced, as /metrics does: allocations and bytes
// per scrape of each (-benchmem), and the heap each held (held-B/so).
func BenchmarkScrape(b *testing.B) {
	const n = 10000
	key := func(i int) MetricKey {
		return MetricKey{"ns-" + fmt.Sprint(i%50), "so-" + fmt.Sprint(i), "s0-" + fmt.Sprint(i)}
	}
	for _, impl := range []string{"PerMetric", "GaugeVecs"} {
		b.Run(impl, func(b *testing.B) {
			keys := make([]MetricKey, n)
			for i := range keys {
				keys[i] = key(i)
			}
			reg := prometheus.NewRegistry()
			before := heapAlloc()
			switch impl {
			case "PerMetric":
				p := newPerMetric()
				reg.MustRegister(p)
				for i, k := range keys {
					s := p.Acquire(k)
					for w := range numSeries {
						s.Set(w, float64(i+int(w)))
					}
				}
			case "GaugeVecs":
				old := gaugeVecs(reg)
				for i, k := range keys {
					for w := range numSeries {
						old[w].WithLabelValues(k.Namespace, k.ScaledObject, k.Metric).Set(float64(i + int(w)))
					}
				}
			}
			held := float64(heapAlloc()-before) / n
			b.ReportAllocs()
			for b.Loop() {
				mfs, err := reg.Gather()
				if err != nil {
					b.Fatal(err)
				}
				enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
				for _, mf := range mfs {
					if err := enc.Encode(mf); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(held, "held-B/so")
		})
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
