package status

import (
	"fmt"
	"testing"
	"time"

	"github.com/tide-scaler/tide/pkg/sources"
	"github.com/tide-scaler/tide/pkg/trigger"
)

// benchFixture holds n triggers in 100 namespaces, each with a sample.
func benchFixture(b *testing.B, n int) (*fixture, *Page, *time.Time) {
	f := newFixture(b)
	now := t0
	for i := range n {
		q := fmt.Sprint("q", i)
		tr, err := f.cache.Get(map[string]string{"source": "queue", "queue": q}, t0)
		if err != nil {
			b.Fatal(err)
		}
		tr.Own(trOwner(i))
		f.eng.set(q, sources.Peeked{Last: sources.Sample{Time: t0, Value: float64(i)}})
	}
	p, err := New(Config{Triggers: f.cache, Samples: f.eng, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	return f, p, &now
}

// BenchmarkRecord: one recording pass over 10,000 triggers (1,000 with a
// history, the default bound), as Run does every poll interval.
func BenchmarkRecord(b *testing.B) {
	_, p, _ := benchFixture(b, 10000)
	for b.Loop() {
		p.Record()
	}
}

// BenchmarkPage: one page of one namespace (100 rows, with charts of 180
// points) out of 10,000 triggers.
func BenchmarkPage(b *testing.B) {
	_, p, now := benchFixture(b, 10000)
	for i := range 180 {
		*now = t0.Add(time.Duration(i) * time.Minute)
		p.Record()
	}
	b.ResetTimer()
	for b.Loop() {
		if code, _, body := get(b, p, "/status?namespace=ns-7"); code != 200 || len(body) < 1000 {
			b.Fatalf("%d %d bytes", code, len(body))
		}
	}
}

func trOwner(i int) trigger.Owner {
	return trigger.Owner{Namespace: fmt.Sprint("ns-", i%100), Name: fmt.Sprint("so-", i)}
}
