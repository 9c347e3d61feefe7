package server

import (
	"maps"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	pb "github.com/tide-scaler/tide/proto/externalscaler"
)

func kedaRequest() *pb.GetMetricsRequest {
	return &pb.GetMetricsRequest{MetricName: "s0-so-00001", ScaledObjectRef: &pb.ScaledObjectRef{
		Namespace: "default", Name: "so-00001",
		ScalerMetadata: map[string]string{"source": "kafka", "bootstrapServers": "127.0.0.1:1,127.0.0.1:2",
			"consumerGroup": "g-1", "topic": "orders", "lagThreshold": "10", "metricName": "so-00001"},
	}}
}

// decodeBoth decodes b with the standard codec and with refCodec (twice,
// the second time from its intern table) into fresh messages of v's type.
func decodeBoth(t *testing.T, c *refCodec, b []byte, v proto.Message) (std, ours proto.Message, stdErr, ourErr error) {
	t.Helper()
	std, ours = v.ProtoReflect().New().Interface(), v.ProtoReflect().New().Interface()
	stdErr = encoding.GetCodecV2("proto").Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, std)
	ourErr = c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, ours)
	again := v.ProtoReflect().New().Interface()
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, again); (err == nil) != (ourErr == nil) ||
		(err == nil && !proto.Equal(again, ours)) {
		t.Errorf("second decode (interned) differs: %v / %v", again, err)
	}
	return std, ours, stdErr, ourErr
}

// equalKnown compares two messages on their known fields (refCodec drops
// unknown ones).
func equalKnown(a, b proto.Message) bool {
	a, b = proto.Clone(a), proto.Clone(b)
	for _, m := range []proto.Message{a, b} {
		m.ProtoReflect().SetUnknown(nil)
		if r, ok := m.(*pb.GetMetricsRequest); ok && r.ScaledObjectRef != nil {
			r.ScaledObjectRef.ProtoReflect().SetUnknown(nil)
		}
	}
	return proto.Equal(a, b)
}

// TestRefCodecMatchesProto: the server's request decoder gives the
// generated decoder's message for KEDA's requests, merged and odd
// encodings, and refuses what it refuses.
func TestRefCodecMatchesProto(t *testing.T) {
	c := newRefCodec()
	req := kedaRequest()
	plain, _ := proto.Marshal(req)
	ref, _ := proto.Marshal(req.ScaledObjectRef)
	var odd []byte // field 1 twice (merged), a repeated map key, unknown fields, an empty entry
	odd = protowire.AppendTag(odd, 1, protowire.BytesType)
	odd = protowire.AppendBytes(odd, ref)
	odd = protowire.AppendTag(odd, 9, protowire.VarintType)
	odd = protowire.AppendVarint(odd, 77)
	var ref2 []byte
	ref2 = protowire.AppendTag(ref2, 1, protowire.BytesType)
	ref2 = protowire.AppendString(ref2, "renamed")
	entry := func(k, v string) []byte {
		var e []byte
		e = protowire.AppendTag(e, 1, protowire.BytesType)
		e = protowire.AppendString(e, k)
		e = protowire.AppendTag(e, 2, protowire.BytesType)
		return protowire.AppendString(e, v)
	}
	for _, e := range [][]byte{entry("topic", "other"), nil, entry("x", "")} {
		ref2 = protowire.AppendTag(ref2, 3, protowire.BytesType)
		ref2 = protowire.AppendBytes(ref2, e)
	}
	ref2 = protowire.AppendTag(ref2, 15, protowire.Fixed64Type)
	ref2 = protowire.AppendFixed64(ref2, 1)
	odd = protowire.AppendTag(odd, 1, protowire.BytesType)
	odd = protowire.AppendBytes(odd, ref2)
	odd = protowire.AppendTag(odd, 2, protowire.BytesType)
	odd = protowire.AppendString(odd, "m")
	badUTF8 := protowire.AppendTag(nil, 2, protowire.BytesType)
	badUTF8 = protowire.AppendBytes(badUTF8, []byte{0xff, 'a'})
	wrongType := protowire.AppendTag(nil, 2, protowire.VarintType)
	wrongType = protowire.AppendVarint(wrongType, 1)

	for _, tc := range []struct {
		name string
		b    []byte
		v    proto.Message
	}{
		{"keda request", plain, &pb.GetMetricsRequest{}},
		{"keda ref", ref, &pb.ScaledObjectRef{}},
		{"empty", nil, &pb.GetMetricsRequest{}},
		{"merged, repeated key, unknown fields", odd, &pb.GetMetricsRequest{}},
		{"invalid utf-8", badUTF8, &pb.GetMetricsRequest{}},
		{"wrong wire type", wrongType, &pb.GetMetricsRequest{}},
		{"truncated", plain[:len(plain)-3], &pb.GetMetricsRequest{}},
	} {
		std, ours, stdErr, ourErr := decodeBoth(t, c, tc.b, tc.v)
		switch {
		case (stdErr == nil) != (ourErr == nil):
			t.Errorf("%s: error %v, the generated decoder's %v", tc.name, ourErr, stdErr)
		case stdErr == nil && !equalKnown(std, ours):
			t.Errorf("%s: decoded %v, the generated decoder %v", tc.name, ours, std)
		}
	}
	if m := kedaRequest(); !maps.Equal(m.ScaledObjectRef.ScalerMetadata, req.ScaledObjectRef.ScalerMetadata) {
		t.Fatal("test request changed")
	}
}

// TestRefCodecInternBound: the intern table never holds more than
// maxInterned strings nor maxInternBytes, however many distinct ones
// arrive, and keeps no string over maxInternLen.
func TestRefCodecInternBound(t *testing.T) {
	c := newRefCodec()
	for i := range maxInterned + 10 {
		b := protowire.AppendTag(nil, 1, protowire.BytesType)
		b = protowire.AppendString(b, "name-"+strconv.Itoa(i))
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &pb.ScaledObjectRef{}); err != nil {
			t.Fatal(err)
		}
		if n := len(c.in.m); n > maxInterned {
			t.Fatalf("%d strings interned, bound %d", n, maxInterned)
		}
	}
	// Long strings are not kept, and the bytes held stay under their bound.
	long := strings.Repeat("x", maxInternLen+1)
	for i := range maxInternBytes / maxInternLen * 2 {
		for _, v := range []string{long + strconv.Itoa(i), strings.Repeat("y", maxInternLen-8) + strconv.Itoa(i)} {
			b := protowire.AppendTag(nil, 1, protowire.BytesType)
			b = protowire.AppendString(b, v)
			if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, &pb.ScaledObjectRef{}); err != nil {
				t.Fatal(err)
			}
		}
		if c.in.bytes > maxInternBytes {
			t.Fatalf("%d bytes interned, bound %d", c.in.bytes, maxInternBytes)
		}
		if _, ok := c.in.m[long+strconv.Itoa(i)]; ok {
			t.Fatal("a string over maxInternLen was interned")
		}
	}
}

// FuzzRefCodec: on any input the server's decoder agrees with the
// generated one on success, error and known fields.
func FuzzRefCodec(f *testing.F) {
	plain, _ := proto.Marshal(kedaRequest())
	f.Add(plain)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x02, 0x1a, 0x00})
	c := newRefCodec()
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, v := range []proto.Message{&pb.GetMetricsRequest{}, &pb.ScaledObjectRef{}} {
			std, ours, stdErr, ourErr := decodeBoth(t, c, b, v)
			if (stdErr == nil) != (ourErr == nil) {
				t.Fatalf("%T: error %v, generated decoder %v", v, ourErr, stdErr)
			}
			if stdErr == nil && !equalKnown(std, ours) {
				t.Fatalf("%T: decoded %v, generated decoder %v", v, ours, std)
			}
		}
	})
}

// BenchmarkDecodeRequest decodes KEDA's GetMetricsRequest (six metadata
// keys) with the generated decoder (the baseline) and with refCodec,
// whose strings come from its intern table after the first call.
func BenchmarkDecodeRequest(b *testing.B) {
	buf, _ := proto.Marshal(kedaRequest())
	for _, tc := range []struct {
		name  string
		codec encoding.CodecV2
	}{{"generated", encoding.GetCodecV2("proto")}, {"tide", newRefCodec()}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r pb.GetMetricsRequest
				if err := tc.codec.Unmarshal(mem.BufferSlice{mem.SliceBuffer(buf)}, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
