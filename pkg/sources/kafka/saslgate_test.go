package kafka

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
)

// The gate's setup user: the franz-go admin client that creates topics and
// commits offsets authenticates with PLAIN, which the gate accepts for it
// alone.
const gateAdmin, gateAdminPass = "setup-admin", "setup-admin-pw"

// saslGate is the broker side of SASL for kfake, which itself knows only
// PLAIN and SCRAM. kfake listens through the gate (kfake.ListenFn): on every
// connection the gate answers SaslHandshake and SaslAuthenticate itself,
// with verify judging the client's payload, and passes kfake nothing but
// ApiVersions until the connection has authenticated. Any other request
// before that closes the connection, as a SASL listener does.
type saslGate struct {
	mechanism string
	// verify judges one SaslAuthenticate payload of mechanism. A challenge
	// is an RFC 7628 error: it is sent without an error code, the client
	// must answer with a lone %x01, and the exchange then fails with the
	// challenge as the message (as Kafka's OAUTHBEARER does). A failure is
	// sent at once with SASL_AUTHENTICATION_FAILED. Neither: success.
	verify func(auth []byte) (challenge []byte, failure string)
	tls    *tls.Config // nil: plaintext

	mu                      sync.Mutex
	passed, refused, before int // authentications passed and refused, requests before one
}

// counts returns the connections of mechanism that authenticated, those
// refused, and the requests that came before authentication.
func (g *saslGate) counts() (passed, refused, before int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.passed, g.refused, g.before
}

func (g *saslGate) count(f *int) { g.mu.Lock(); *f++; g.mu.Unlock() }

// start starts a 3-broker kfake cluster behind the gate, with an admin
// client that passes it.
func (g *saslGate) start(t *testing.T, adminTLS *tls.Config) *testCluster {
	t.Helper()
	opts := []kgo.Opt{kgo.SASL(plain.Auth{User: gateAdmin, Pass: gateAdminPass}.AsMechanism())}
	if adminTLS != nil {
		opts = append(opts, kgo.DialTLSConfig(adminTLS))
	}
	return startClusterWith(t, opts, kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		l, err := net.Listen(network, addr)
		return &gateListener{Listener: l, g: g}, err
	}))
}

type gateListener struct {
	net.Listener
	g *saslGate
}

func (l *gateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if l.g.tls != nil {
		c = tls.Server(c, l.g.tls)
	}
	return &gateConn{Conn: c, g: l.g}, nil
}

// gateConn is one client connection as kfake reads it.
type gateConn struct {
	net.Conn
	g *saslGate

	wmu     sync.Mutex // kfake's writes and the gate's answers
	pending []byte     // bytes of passed requests not yet read by kfake
	mech    string     // the handshake's mechanism, "" before one
	failing string     // an RFC 7628 challenge sent, awaiting %x01
	authed  bool
}

func (c *gateConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.Conn.Write(p)
}

// Read hands kfake the client's requests that the gate lets through.
func (c *gateConn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		frame, err := readFrame(c.Conn)
		if err != nil {
			return 0, err
		}
		r := kbin.Reader{Src: frame[4:]}
		key, version, corr := r.Int16(), r.Int16(), r.Int32()
		r.NullableString()
		req := kmsg.RequestForKey(key)
		if req == nil {
			return 0, fmt.Errorf("gate: unknown request key %d", key)
		}
		req.SetVersion(version)
		if req.IsFlexible() {
			kmsg.SkipTags(&r)
		}
		switch {
		case key == 17 || key == 36:
			if err := req.ReadFrom(r.Src); err != nil {
				return 0, err
			}
			if err := c.answer(corr, req); err != nil {
				return 0, err
			}
		case key == 18 || c.authed:
			c.pending = frame
		default:
			c.g.count(&c.g.before)
			_ = c.Conn.Close()
			return 0, io.EOF
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// answer handles SaslHandshake and SaslAuthenticate.
func (c *gateConn) answer(corr int32, req kmsg.Request) error {
	switch req := req.(type) {
	case *kmsg.SASLHandshakeRequest:
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{c.g.mechanism, "PLAIN"}
		if req.Mechanism == c.g.mechanism || req.Mechanism == "PLAIN" {
			c.mech = req.Mechanism
		} else {
			resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		}
		return c.reply(corr, resp)
	case *kmsg.SASLAuthenticateRequest:
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		challenge, failure := c.judge(req.SASLAuthBytes)
		switch {
		case failure != "":
			c.g.count(&c.g.refused)
			resp.ErrorCode, resp.ErrorMessage = kerr.SaslAuthenticationFailed.Code, &failure
		case challenge != nil:
			resp.SASLAuthBytes = challenge
		default:
			c.authed = true
			if c.mech == c.g.mechanism {
				c.g.count(&c.g.passed)
			}
		}
		return c.reply(corr, resp)
	}
	return fmt.Errorf("gate: unexpected %T", req)
}

// judge verifies one payload; see saslGate.verify.
func (c *gateConn) judge(auth []byte) (challenge []byte, failure string) {
	switch {
	case c.mech == "":
		return nil, "SaslAuthenticate before SaslHandshake"
	case c.authed:
		return nil, "already authenticated"
	case c.failing != "":
		if !bytes.Equal(auth, []byte{1}) {
			return nil, "after an error challenge the client must send %x01"
		}
		return nil, c.failing
	case c.mech == "PLAIN":
		if string(auth) != "\x00"+gateAdmin+"\x00"+gateAdminPass {
			return nil, "PLAIN is for the setup client only"
		}
		return nil, ""
	}
	challenge, failure = c.g.verify(auth)
	if challenge != nil {
		c.failing = string(challenge)
	}
	return challenge, failure
}

// reply writes one response frame.
func (c *gateConn) reply(corr int32, resp kmsg.Response) error {
	buf := binary.BigEndian.AppendUint32(make([]byte, 4, 64), uint32(corr))
	if resp.IsFlexible() {
		buf = append(buf, 0) // empty tagged fields of the response header
	}
	buf = resp.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	_, err := c.Write(buf)
	return err
}

// readFrame reads one size-prefixed request, the prefix included.
func readFrame(r io.Reader) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 8 || n > 1<<20 {
		return nil, errors.New("gate: bad request size")
	}
	frame := make([]byte, 4+n)
	copy(frame, size[:])
	_, err := io.ReadFull(r, frame[4:])
	return frame, err
}

// mustAuthFail checks a poll result that authentication refused: an error
// naming the mechanism, without any of the secrets, and no sample.
func mustAuthFail(t *testing.T, err error, value float64, mechanism string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("poll with bad credentials: value %v, want an error", value)
	}
	msg := err.Error()
	if !strings.Contains(msg, "sasl "+mechanism) {
		t.Errorf("error %q does not name sasl %s", msg, mechanism)
	}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error %q leaks %q", msg, s)
		}
	}
	if value != 0 {
		t.Errorf("failed poll carries value %v", value)
	}
}
