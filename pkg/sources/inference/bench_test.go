package inference

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

const benchPods = 100

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds CPU per cycle (one op = one cycle over 100 pods). With
// the fake pods in the same process it includes their HTTP serving: an
// upper bound for the scaler's own share.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/1e6, "cpu-ms/cycle")
}

func vllmBody(b *testing.B, st podState) []byte {
	var buf bytes.Buffer
	writeVLLM(&buf, st)
	if st.openMetrics {
		return buf.Bytes()
	}
	p := expfmt.NewTextParser(model.UTF8Validation) // the fake pods' text must be valid as a whole
	fams, err := p.TextToMetricFamilies(bytes.NewReader(buf.Bytes()))
	if err != nil {
		b.Fatal(err)
	}
	samples := 0
	for _, line := range bytes.Split(buf.Bytes(), []byte("\n")) {
		if len(line) > 0 && line[0] != '#' {
			samples++
		}
	}
	b.Logf("one pod: %d bytes, %d families, %d sample lines", buf.Len(), len(fams), samples)
	return buf.Bytes()
}

// BenchmarkParse100Pods parses 100 vLLM expositions per op: expfmt on the
// whole text (the baseline), then with the line filter that keeps only the
// four metrics a trigger reads.
func BenchmarkParse100Pods(b *testing.B) {
	text := vllmBody(b, podState{success: 1234, waiting: 3, running: 8, kv: 0.4})
	om := vllmBody(b, podState{success: 1234, waiting: 3, running: 8, kv: 0.4, openMetrics: true})
	b.Run("expfmt-whole-text", func(b *testing.B) {
		b.SetBytes(int64(len(text) * benchPods))
		start := cpuTime(b)
		for b.Loop() {
			for range benchPods {
				p := expfmt.NewTextParser(model.UTF8Validation)
				if _, err := p.TextToMetricFamilies(bytes.NewReader(text)); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, start)
	})
	for _, c := range []struct {
		name, ct string
		body     []byte
	}{{"filtered-text", "text/plain; version=0.0.4", text}, {"filtered-openmetrics", "application/openmetrics-text; version=1.0.0", om}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body) * benchPods))
			start := cpuTime(b)
			for b.Loop() {
				for range benchPods {
					if _, err := parseExposition(c.body, c.ct, vllmWanted); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportCPU(b, start)
		})
	}
}

// benchFleet serves the same vLLM exposition from 100 loopback servers.
func benchFleet(b *testing.B) []target {
	body := vllmBody(b, podState{success: 1234, waiting: 3, running: 8, kv: 0.4})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Write(body)
	})
	ts := make([]target, benchPods)
	for i := range ts {
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		ts[i] = target{name: srv.URL, url: srv.URL + "/metrics"}
	}
	return ts
}

// BenchmarkScrapeCycle100Pods is one 1 s cycle over 100 pods on loopback,
// 16 in flight: fetching only (the HTTP baseline), fetch + parse, and the
// whole upstream Poll (windows and KPA included).
func BenchmarkScrapeCycle100Pods(b *testing.B) {
	ts := benchFleet(b)
	noAuth, err := parseAuth(metadata.Metadata{}, ModeScrape, false, sources.Policy{})
	if err != nil {
		b.Fatal(err)
	}
	sc := newScraper(800*time.Millisecond, noAuth)
	defer sc.close()
	ctx := context.Background()
	b.Run("fetch-only", func(b *testing.B) {
		start := cpuTime(b)
		for b.Loop() {
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for _, t := range ts {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					resp, err := sc.client.Get(t.url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				})
			}
			wg.Wait()
		}
		reportCPU(b, start)
	})
	b.Run("scrape+parse", func(b *testing.B) {
		start := cpuTime(b)
		for b.Loop() {
			for _, r := range sc.scrapeAll(ctx, ts, vllmWanted, 16) {
				if r.err != nil {
					b.Fatal(r.err)
				}
			}
		}
		reportCPU(b, start)
	})
	b.Run("poll", func(b *testing.B) {
		var urls []string
		for _, t := range ts {
			urls = append(urls, t.url)
		}
		md := metadata.Metadata{"targets": joinComma(urls), "targetRequestRate": "10", "targetWaiting": "5"}
		tr, err := Parse(md, Env{})
		if err != nil {
			b.Fatal(err)
		}
		up, err := tr.Query().Open()
		if err != nil {
			b.Fatal(err)
		}
		defer up.Close()
		now := t0
		start := cpuTime(b)
		for b.Loop() {
			now = now.Add(time.Second)
			if r := up.Poll(ctx, now, []sources.Query{tr.Query()}); r[0].Err != nil {
				b.Fatal(r[0].Err)
			}
		}
		reportCPU(b, start)
	})
}

func joinComma(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}
