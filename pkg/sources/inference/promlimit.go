package inference

import (
	"fmt"
	"io"
	"net/http"
)

// maxPromResponse bounds one Prometheus API answer. An instant query KEDA
// can use returns one sample; a huge answer is a wrong query or a hostile
// server, and must not cost the scaler memory.
const maxPromResponse = 8 << 20

// limitResponses makes reading more than max bytes of any response body an
// error, so the Prometheus client, which reads whole bodies, stays bounded.
type limitResponses struct {
	next http.RoundTripper
	max  int64
}

func (l limitResponses) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: l.max}
	return resp, nil
}

// CloseIdleConnections lets the client reach the transport underneath.
func (l limitResponses) CloseIdleConnections() {
	if c, ok := l.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a larger one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n == 0 {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("response larger than %d bytes", maxPromResponse)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
