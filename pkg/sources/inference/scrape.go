package inference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxScrapeBytes bounds one pod's exposition: a vLLM pod's is ~30 KB, and
// a pod that streams without end must not make the scaler buffer it.
const maxScrapeBytes = 8 << 20

// acceptHeader prefers the plain text format (no exemplars to cut) and
// takes OpenMetrics 1.0 from servers that only speak it.
const acceptHeader = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"

// scraper fetches and parses pods' expositions.
type scraper struct {
	client  *http.Client
	timeout time.Duration
	bufs    sync.Pool // *bytes.Buffer, reused across scrapes
}

func newScraper(timeout time.Duration, auth *httpAuth) *scraper {
	tr := &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 2,
		// Longer than any scrape interval, so a scrape every second reuses
		// its connection instead of paying a handshake each time.
		IdleConnTimeout: 2 * time.Minute,
	}
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return &scraper{client: &http.Client{Transport: auth.transport(tr, d)}, timeout: timeout}
}

// reading is the result of scraping one target.
// errNotReady is a target that answered 503: alive and saying it cannot
// serve (a model still loading, a pod being replaced). It counts as no
// capacity, like a not-ready endpoint, rather than as an unknown that holds
// scale-down.
var errNotReady = errors.New("not ready")

type reading struct {
	target target
	expo   exposition
	err    error
}

// scrapeAll scrapes every target with at most concurrency requests in
// flight: a fleet of hundreds of pods must not open hundreds of
// connections at once, nor take hundreds of scrape latencies in a row.
func (s *scraper) scrapeAll(ctx context.Context, targets []target, wanted map[string]bool, concurrency int) []reading {
	out := make([]reading, len(targets))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(concurrency, len(targets)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(targets) {
					return
				}
				out[i].target = targets[i]
				out[i].expo, out[i].err = s.scrape(ctx, targets[i], wanted)
			}
		})
	}
	wg.Wait()
	return out
}

// scrape reads one target within the scrape timeout. Every error names the
// target's URL.
func (s *scraper) scrape(ctx context.Context, t target, wanted map[string]bool) (exposition, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	e, err := s.fetch(ctx, t, wanted)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("no complete answer within the scrape timeout of %s: %w", s.timeout, err)
		}
		return nil, fmt.Errorf("target %s: %w", t.url, err)
	}
	return e, nil
}

func (s *scraper) fetch(ctx context.Context, t target, wanted map[string]bool) (exposition, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprintf("%g", s.timeout.Seconds()))
	req.Header.Set("User-Agent", "tide-scaler")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // let the connection be reused
		if resp.StatusCode == http.StatusServiceUnavailable {
			return nil, fmt.Errorf("HTTP %s: %w", resp.Status, errNotReady)
		}
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	buf, _ := s.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer s.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxScrapeBytes+1)); err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if buf.Len() > maxScrapeBytes {
		return nil, fmt.Errorf("exposition larger than %d bytes", maxScrapeBytes)
	}
	e, err := parseExposition(buf.Bytes(), resp.Header.Get("Content-Type"), wanted)
	if err != nil {
		return nil, fmt.Errorf("malformed exposition: %w", err)
	}
	return e, nil
}

func (s *scraper) close() { s.client.CloseIdleConnections() }
