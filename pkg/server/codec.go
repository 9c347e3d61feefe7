package server

import (
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

// refCodec is the server's gRPC codec: the standard proto codec, except
// that it decodes the two request messages KEDA sends on every call
// (GetMetricsRequest, ScaledObjectRef) itself. The generated decoder
// builds the scalerMetadata map by reflection, 43 allocations and ~6 µs for
// a six-key map; this one reads the wire format with protowire and takes
// its strings from an intern table, since KEDA sends the same metadata on
// every call: a request whose strings were seen before costs the message
// structs and the map. The result is the same message (fields decoded as
// proto3 does: a repeated message field merges, a repeated map key keeps
// the last value, strings must be valid UTF-8) except that unknown fields
// are dropped; nothing reads them. Everything else goes to the standard
// codec.
type refCodec struct {
	std encoding.CodecV2
	in  *interner
}

func newRefCodec() *refCodec {
	return &refCodec{std: encoding.GetCodecV2("proto"), in: &interner{m: map[string]string{}}}
}

func (c *refCodec) Name() string { return c.std.Name() }

func (c *refCodec) Marshal(v any) (mem.BufferSlice, error) { return c.std.Marshal(v) }

func (c *refCodec) Unmarshal(data mem.BufferSlice, v any) error {
	switch v.(type) {
	case *pb.GetMetricsRequest, *pb.ScaledObjectRef:
	default:
		return c.std.Unmarshal(data, v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	in := interning{t: c.in}
	c.in.mu.RLock()
	var err error
	switch m := v.(type) {
	case *pb.GetMetricsRequest:
		err = decodeMetricsRequest(buf.ReadOnlyData(), m, &in)
	case *pb.ScaledObjectRef:
		err = decodeRef(buf.ReadOnlyData(), m, &in)
	}
	c.in.mu.RUnlock()
	in.keep()
	if err != nil {
		return fmt.Errorf("decoding request: %w", err)
	}
	return nil
}

// The intern table is bounded: strings longer than maxInternLen are not
// kept (KEDA's metadata values are short; a certificate is not worth it),
// and when the table would pass maxInterned strings or maxInternBytes it
// starts over, so metadata that keeps changing cannot grow it. 10,000
// triggers keep ~30,000 strings.
const (
	maxInternLen   = 256
	maxInterned    = 1 << 16
	maxInternBytes = 4 << 20
)

// interner holds strings seen in requests. A message is decoded under one
// read lock; the strings it brought that were not there are added after.
type interner struct {
	mu    sync.RWMutex
	m     map[string]string
	bytes int // of the strings in m
}

// interning is one message's use of the table.
type interning struct {
	t     *interner
	fresh []string // strings not in the table, added by end
}

// keep adds the message's new strings to the table (after the read lock
// is released).
func (in *interning) keep() {
	if len(in.fresh) == 0 {
		return
	}
	t := in.t
	t.mu.Lock()
	defer t.mu.Unlock()
	add := 0
	for _, s := range in.fresh {
		add += len(s)
	}
	if len(t.m)+len(in.fresh) > maxInterned || t.bytes+add > maxInternBytes {
		clear(t.m)
		t.bytes = 0
	}
	for _, s := range in.fresh {
		if _, ok := t.m[s]; !ok {
			t.m[s] = s
			t.bytes += len(s)
		}
	}
}

// str returns b as a string, from the table when it is there.
func (in *interning) str(b []byte) (string, error) {
	if s, ok := in.t.m[string(b)]; ok {
		return s, nil
	}
	if !utf8.Valid(b) {
		return "", errors.New("string field contains invalid UTF-8")
	}
	s := string(b)
	if len(s) <= maxInternLen {
		in.fresh = append(in.fresh, s)
	}
	return s, nil
}

// field reads one field's tag and, for length-delimited fields, its
// bytes; other wire types are skipped (n is what to consume).
func field(b []byte) (num protowire.Number, typ protowire.Type, val []byte, n int, err error) {
	num, typ, tn := protowire.ConsumeTag(b)
	if tn < 0 {
		return 0, 0, nil, 0, protowire.ParseError(tn)
	}
	if num > protowire.MaxValidNumber {
		return 0, 0, nil, 0, errors.New("field number out of range")
	}
	if typ == protowire.BytesType {
		v, vn := protowire.ConsumeBytes(b[tn:])
		if vn < 0 {
			return 0, 0, nil, 0, protowire.ParseError(vn)
		}
		return num, typ, v, tn + vn, nil
	}
	vn := protowire.ConsumeFieldValue(num, typ, b[tn:])
	if vn < 0 {
		return 0, 0, nil, 0, protowire.ParseError(vn)
	}
	return num, typ, nil, tn + vn, nil
}

// bytesFields calls fn with every length-delimited field of b in order.
// Fields of other wire types are skipped, as the generated decoder treats
// a known field of another wire type as unknown.
func bytesFields(b []byte, fn func(num protowire.Number, val []byte) error) error {
	for len(b) > 0 {
		num, typ, val, n, err := field(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if typ != protowire.BytesType {
			continue
		}
		if err := fn(num, val); err != nil {
			return err
		}
	}
	return nil
}

func decodeMetricsRequest(b []byte, m *pb.GetMetricsRequest, in *interning) error {
	return bytesFields(b, func(num protowire.Number, val []byte) (err error) {
		switch num {
		case 1:
			if m.ScaledObjectRef == nil {
				m.ScaledObjectRef = &pb.ScaledObjectRef{}
			}
			err = decodeRef(val, m.ScaledObjectRef, in)
		case 2:
			m.MetricName, err = in.str(val)
		}
		return err
	})
}

func decodeRef(b []byte, m *pb.ScaledObjectRef, in *interning) error {
	return bytesFields(b, func(num protowire.Number, val []byte) (err error) {
		switch num {
		case 1:
			m.Name, err = in.str(val)
		case 2:
			m.Namespace, err = in.str(val)
		case 3:
			if m.ScalerMetadata == nil {
				m.ScalerMetadata = make(map[string]string, 8)
			}
			err = decodeEntry(val, m.ScalerMetadata, in)
		}
		return err
	})
}

// decodeEntry reads one map entry; a missing key or value is "".
func decodeEntry(b []byte, md map[string]string, in *interning) error {
	var k, v string
	err := bytesFields(b, func(num protowire.Number, val []byte) (err error) {
		switch num {
		case 1:
			k, err = in.str(val)
		case 2:
			v, err = in.str(val)
		}
		return err
	})
	if err != nil {
		return err
	}
	md[k] = v
	return nil
}
