package inference

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// noteNegative: KEDA passes negative results on and clamps later; a
// Sample is never negative.
const noteNegative = "the query returned a negative value: counted as 0"

// promServer is one Prometheus server; its queries share one client.
type promServer struct {
	address  string
	auth     *httpAuth
	endpoint sources.Endpoint
}

// promQuery is one instant query, KEDA prometheus-scaler style.
type promQuery struct {
	server     *promServer
	query      string
	ignoreNull bool
	timeout    time.Duration
	key        string
}

var _ sources.Query = (*promQuery)(nil)

// parsePrometheus reads KEDA's prometheus keys: serverAddress, query,
// threshold, activationThreshold (0), ignoreNullValues (true), timeout
// (3 s; a bare number is milliseconds, as in KEDA), unsafeSsl and the
// auth keys (parseAuth).
func parsePrometheus(md metadata.Metadata, pol sources.Policy) (*Trigger, error) {
	addr, err := md.Required("serverAddress")
	if err != nil {
		return nil, err
	}
	u, err := httpURL("serverAddress", addr)
	if err != nil {
		return nil, err
	}
	if err := pol.CheckUpstream("serverAddress", hostPort(u)); err != nil {
		return nil, err
	}
	query, err := md.Required("query")
	if err != nil {
		return nil, err
	}
	if _, err := md.Required("threshold"); err != nil {
		return nil, err
	}
	threshold, err := md.Float("threshold", 0, true)
	if err != nil {
		return nil, err
	}
	activation, err := md.Float("activationThreshold", 0, false)
	if err != nil {
		return nil, err
	}
	ignoreNull, err := md.Bool("ignoreNullValues", true)
	if err != nil {
		return nil, err
	}
	timeout, err := duration(md, "timeout", 3*time.Second, time.Millisecond, time.Millisecond, time.Minute)
	if err != nil {
		return nil, err
	}
	unsafe, err := md.Bool("unsafeSsl", false)
	if err != nil {
		return nil, err
	}
	auth, err := parseAuth(md, ModePrometheus, unsafe, pol)
	if err != nil {
		return nil, err
	}
	if auth.secure && u.Scheme != "https" {
		return nil, metadata.Invalid("serverAddress", shown(addr), "ca or authModes tls is set, which needs https://")
	}
	s := &promServer{address: u.String(), auth: auth}
	s.endpoint = sources.Endpoint{Key: "inference-prometheus|" + s.address + "|unsafeSsl=" + strconv.FormatBool(unsafe) +
		"|" + auth.describe(), Name: "prometheus://" + u.Host}
	q := &promQuery{server: s, query: query, ignoreNull: ignoreNull, timeout: timeout}
	q.key = fmt.Sprintf("%s|query=%q|ignoreNullValues=%t|timeout=%s", s.endpoint.Key, query, ignoreNull, timeout)
	return &Trigger{mode: ModePrometheus, query: q, metricName: "prometheus", target: threshold, activation: activation}, nil
}

func (q *promQuery) Key() string                { return q.key }
func (q *promQuery) Upstream() sources.Endpoint { return q.server.endpoint }

// Open builds the server's HTTP API client.
func (q *promQuery) Open() (sources.Upstream, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The dialer http.DefaultTransport uses.
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	rt := limitResponses{next: q.server.auth.transport(tr, d), max: maxPromResponse}
	c, err := api.NewClient(api.Config{Address: q.server.address, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return &promUpstream{server: q.server, api: promv1.NewAPI(c), tr: tr}, nil
}

// promUpstream runs the instant queries of one Prometheus server.
type promUpstream struct {
	server *promServer
	api    promv1.API
	tr     *http.Transport
}

// maxParallelQueries bounds the queries in flight against one server.
const maxParallelQueries = 8

// Poll runs every query at now, several at a time. Each query fails alone.
func (u *promUpstream) Poll(ctx context.Context, now time.Time, queries []sources.Query) []sources.Result {
	results := make([]sources.Result, len(queries))
	sem := make(chan struct{}, maxParallelQueries)
	var wg sync.WaitGroup
	for i, sq := range queries {
		q, ok := sq.(*promQuery)
		if !ok || q.server.endpoint.Key != u.server.endpoint.Key {
			results[i].Err = fmt.Errorf("query %q is not for upstream %s", sq.Key(), u.server.endpoint.Name)
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = u.run(ctx, now, q)
		})
	}
	wg.Wait()
	return results
}

// run is one instant query. Every error names the query.
func (u *promUpstream) run(ctx context.Context, now time.Time, q *promQuery) sources.Result {
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	val, _, _, err := u.api.Query(ctx, q.query, now, promv1.WithTimeout(q.timeout))
	if err != nil {
		return sources.Result{Err: fmt.Errorf("query %q: %w%s", q.query, err, refused(err, u.server.auth))}
	}
	v, unknown, err := single(val, q.ignoreNull)
	if err != nil {
		return sources.Result{Err: fmt.Errorf("query %q: %w", q.query, err)}
	}
	s := sources.Sample{Value: v, Activity: v, Unknown: unknown}
	if v < 0 {
		s = sources.Sample{Notes: []string{noteNegative}}
	}
	return sources.Result{Sample: s}
}

// refused explains a 401 or 403: the server did not take the credentials.
func refused(err error, auth *httpAuth) string {
	var apiErr *promv1.Error
	if !errors.As(err, &apiErr) || !strings.HasSuffix(apiErr.Msg, " 401") && !strings.HasSuffix(apiErr.Msg, " 403") {
		return ""
	}
	if len(auth.modes) == 0 {
		return " (the server wants credentials, and authModes is not set)"
	}
	return fmt.Sprintf(" (the server refused the credentials of authModes %s)", strings.Join(auth.modes, ","))
}

// single is the one value of an instant query's result. KEDA's rules:
// more than one series is an error; no series, NaN or Inf is 0 when
// ignoreNull, an error otherwise. unknown reports such a 0.
func single(val model.Value, ignoreNull bool) (v float64, unknown bool, err error) {
	switch r := val.(type) {
	case model.Vector:
		switch len(r) {
		case 0:
			if ignoreNull {
				return 0, true, nil
			}
			return 0, false, fmt.Errorf("returned no series (set ignoreNullValues: true to read that as 0): %w", sources.ErrNotFound)
		case 1:
			v = float64(r[0].Value)
		default:
			return 0, false, fmt.Errorf("returned %d series, want one: aggregate them (sum, max, ...)", len(r))
		}
	case *model.Scalar:
		v = float64(r.Value)
	default:
		return 0, false, fmt.Errorf("returned a %s, want an instant vector or a scalar", val.Type())
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if ignoreNull {
			return 0, true, nil
		}
		return 0, false, fmt.Errorf("returned %v (set ignoreNullValues: true to read that as 0)", v)
	}
	return v, false, nil
}

// ReportsUnknown: with ignoreNullValues an empty or NaN answer is an
// unknown sample, which unknownGracePeriod applies to.
func (t *Trigger) ReportsUnknown() bool {
	q, ok := t.query.(*promQuery)
	return ok && q.ignoreNull
}

func (u *promUpstream) Close() error {
	u.tr.CloseIdleConnections()
	return nil
}
