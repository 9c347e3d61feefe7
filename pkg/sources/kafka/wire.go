package kafka

import (
	"context"
	"fmt"
	"io"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// rawCall sends one request of kafka-go's protocol types exactly as built,
// over the broker connections of a kafka-go Transport.
//
// Why not Transport.RoundTrip with the request itself: kafka-go routes by
// request type. A *listoffsets.Request is a protocol.Splitter, which the
// transport breaks into one request per partition, and a *metadata.Request
// is answered from the transport's cache of its own metadata loop. Both
// defeat the point of batching. rawCall is neither: as a
// protocol.BrokerMessage it is routed to the broker we choose (or, with
// broker -1, to the bootstrap connection), and as a protocol.RawExchanger
// it writes and reads the wrapped request itself at the version the
// connection negotiated. The reply is wrapped too, because the transport
// post-processes some response types (metadata, create topics) assuming the
// request was its own type.
type rawCall struct {
	req    protocol.Message
	broker int32 // -1: any broker (the bootstrap connection)
	id     int32 // correlation id

	// Set by Required on the connection's goroutine, read by RawExchange on
	// the same goroutine right after.
	version   int16
	supported bool
}

// rawReply carries the decoded response of a rawCall.
type rawReply struct{ res protocol.Message }

func (r *rawReply) ApiKey() protocol.ApiKey { return r.res.ApiKey() }

func (c *rawCall) ApiKey() protocol.ApiKey { return c.req.ApiKey() }

// Broker routes the call. A broker missing from the transport's broker list
// (a new broker it has not discovered yet) is an error for this call only.
func (c *rawCall) Broker(cl protocol.Cluster) (protocol.Broker, error) {
	if c.broker < 0 {
		return protocol.Broker{ID: -1}, nil
	}
	b, ok := cl.Brokers[c.broker]
	if !ok {
		return protocol.Broker{}, fmt.Errorf("broker %d: %w", c.broker, kafkago.BrokerNotAvailable)
	}
	return b, nil
}

// Required records the version negotiated for the wrapped request's API on
// this connection and always asks for RawExchange.
func (c *rawCall) Required(versions map[protocol.ApiKey]int16) bool {
	c.version, c.supported = versions[c.req.ApiKey()]
	return true
}

// RawExchange writes the wrapped request and reads its response.
func (c *rawCall) RawExchange(rw io.ReadWriter) (protocol.Message, error) {
	key := c.req.ApiKey()
	if !c.supported || c.version < key.MinVersion() {
		return nil, fmt.Errorf("broker does not support %s v%d or later", key, key.MinVersion())
	}
	res, err := protocol.RoundTrip(rw, c.version, c.id, clientID, c.req)
	if err != nil {
		return nil, err
	}
	return &rawReply{res: res}, nil
}

var (
	_ protocol.BrokerMessage = (*rawCall)(nil)
	_ protocol.RawExchanger  = (*rawCall)(nil)
)

// roundTrip sends req as a rawCall to broker (-1: the bootstrap connection)
// and returns the decoded response.
func (u *Upstream) roundTrip(ctx context.Context, broker int32, req protocol.Message) (protocol.Message, error) {
	call := &rawCall{req: req, broker: broker, id: u.nextID.Add(1) & 0x7fffffff}
	r, err := u.transport.RoundTrip(ctx, u.addr, call)
	if err != nil {
		return nil, err
	}
	reply, ok := r.(*rawReply)
	if !ok {
		return nil, fmt.Errorf("unexpected %T for %s", r, req.ApiKey())
	}
	return reply.res, nil
}
