package externalscaler

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// These tests pin the wire contract with KEDA v2.21.0
// (pkg/scalers/externalscaler/externalscaler.proto). KEDA is the gRPC client,
// so any change here breaks Tide as a KEDA external scaler.

func TestWireMethodNames(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{ExternalScaler_IsActive_FullMethodName, "/externalscaler.ExternalScaler/IsActive"},
		{ExternalScaler_StreamIsActive_FullMethodName, "/externalscaler.ExternalScaler/StreamIsActive"},
		{ExternalScaler_GetMetricSpec_FullMethodName, "/externalscaler.ExternalScaler/GetMetricSpec"},
		{ExternalScaler_GetMetrics_FullMethodName, "/externalscaler.ExternalScaler/GetMetrics"},
		{ExternalScaler_StreamMetricSpec_FullMethodName, "/externalscaler.ExternalScaler/StreamMetricSpec"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("full method name = %q, want %q", tt.got, tt.want)
		}
	}
	if ExternalScaler_ServiceDesc.ServiceName != "externalscaler.ExternalScaler" {
		t.Errorf("service name = %q, want %q", ExternalScaler_ServiceDesc.ServiceName, "externalscaler.ExternalScaler")
	}
}

func TestWireService(t *testing.T) {
	fd := File_externalscaler_externalscaler_proto
	if got := fd.Package(); got != "externalscaler" {
		t.Fatalf("package = %q, want %q", got, "externalscaler")
	}
	if fd.Syntax() != protoreflect.Proto3 {
		t.Errorf("syntax = %v, want proto3", fd.Syntax())
	}
	svc := fd.Services().ByName("ExternalScaler")
	if svc == nil {
		t.Fatal("service externalscaler.ExternalScaler not found")
	}
	tests := []struct {
		method, input, output string
		serverStream          bool
	}{
		{"IsActive", "ScaledObjectRef", "IsActiveResponse", false},
		{"StreamIsActive", "ScaledObjectRef", "IsActiveResponse", true},
		{"GetMetricSpec", "ScaledObjectRef", "GetMetricSpecResponse", false},
		{"GetMetrics", "GetMetricsRequest", "GetMetricsResponse", false},
		{"StreamMetricSpec", "ScaledObjectRef", "GetMetricSpecResponse", true},
	}
	if got := svc.Methods().Len(); got != len(tests) {
		t.Errorf("service has %d methods, want %d", got, len(tests))
	}
	for _, tt := range tests {
		m := svc.Methods().ByName(protoreflect.Name(tt.method))
		if m == nil {
			t.Errorf("method %s not found", tt.method)
			continue
		}
		if got := m.Input().FullName(); got != protoreflect.FullName("externalscaler."+tt.input) {
			t.Errorf("%s input = %s, want externalscaler.%s", tt.method, got, tt.input)
		}
		if got := m.Output().FullName(); got != protoreflect.FullName("externalscaler."+tt.output) {
			t.Errorf("%s output = %s, want externalscaler.%s", tt.method, got, tt.output)
		}
		if m.IsStreamingClient() {
			t.Errorf("%s: client streaming, want unary request", tt.method)
		}
		if m.IsStreamingServer() != tt.serverStream {
			t.Errorf("%s server streaming = %v, want %v", tt.method, m.IsStreamingServer(), tt.serverStream)
		}
	}
}

func TestWireFields(t *testing.T) {
	type field struct {
		name     protoreflect.Name
		number   protoreflect.FieldNumber
		kind     protoreflect.Kind
		repeated bool   // list (not map)
		message  string // full name of the message type for MessageKind
	}
	tests := []struct {
		msg    proto.Message
		name   string
		fields []field
	}{
		{&ScaledObjectRef{}, "ScaledObjectRef", []field{
			{"name", 1, protoreflect.StringKind, false, ""},
			{"namespace", 2, protoreflect.StringKind, false, ""},
			{"scalerMetadata", 3, protoreflect.MessageKind, false, ""}, // map<string,string>, checked below
		}},
		{&IsActiveResponse{}, "IsActiveResponse", []field{
			{"result", 1, protoreflect.BoolKind, false, ""},
		}},
		{&GetMetricSpecResponse{}, "GetMetricSpecResponse", []field{
			{"metricSpecs", 1, protoreflect.MessageKind, true, "externalscaler.MetricSpec"},
		}},
		{&MetricSpec{}, "MetricSpec", []field{
			{"metricName", 1, protoreflect.StringKind, false, ""},
			{"targetSize", 2, protoreflect.Int64Kind, false, ""},
			{"targetSizeFloat", 3, protoreflect.DoubleKind, false, ""},
		}},
		{&GetMetricsRequest{}, "GetMetricsRequest", []field{
			{"scaledObjectRef", 1, protoreflect.MessageKind, false, "externalscaler.ScaledObjectRef"},
			{"metricName", 2, protoreflect.StringKind, false, ""},
		}},
		{&GetMetricsResponse{}, "GetMetricsResponse", []field{
			{"metricValues", 1, protoreflect.MessageKind, true, "externalscaler.MetricValue"},
		}},
		{&MetricValue{}, "MetricValue", []field{
			{"metricName", 1, protoreflect.StringKind, false, ""},
			{"metricValue", 2, protoreflect.Int64Kind, false, ""},
			{"metricValueFloat", 3, protoreflect.DoubleKind, false, ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := tt.msg.ProtoReflect().Descriptor()
			if got, want := md.FullName(), protoreflect.FullName("externalscaler."+tt.name); got != want {
				t.Errorf("message full name = %s, want %s", got, want)
			}
			if got := md.Fields().Len(); got != len(tt.fields) {
				t.Errorf("%s has %d fields, want %d", tt.name, got, len(tt.fields))
			}
			for _, f := range tt.fields {
				fd := md.Fields().ByName(f.name)
				if fd == nil {
					t.Errorf("field %s not found", f.name)
					continue
				}
				if fd.Number() != f.number {
					t.Errorf("%s number = %d, want %d", f.name, fd.Number(), f.number)
				}
				if fd.Kind() != f.kind {
					t.Errorf("%s kind = %v, want %v", f.name, fd.Kind(), f.kind)
				}
				if fd.IsList() != f.repeated {
					t.Errorf("%s repeated = %v, want %v", f.name, fd.IsList(), f.repeated)
				}
				if fd.HasPresence() && fd.Kind() != protoreflect.MessageKind {
					t.Errorf("%s has explicit presence (optional), want implicit proto3 scalar", f.name)
				}
				if f.message != "" {
					if got := fd.Message().FullName(); got != protoreflect.FullName(f.message) {
						t.Errorf("%s message type = %s, want %s", f.name, got, f.message)
					}
				}
				// The JSON name is what KEDA's camelCase field names map to;
				// keep it identical to the proto field name.
				if got := fd.JSONName(); got != string(f.name) {
					t.Errorf("%s JSON name = %q, want %q", f.name, got, f.name)
				}
			}
		})
	}

	t.Run("scalerMetadata map", func(t *testing.T) {
		fd := (&ScaledObjectRef{}).ProtoReflect().Descriptor().Fields().ByName("scalerMetadata")
		if fd == nil || !fd.IsMap() {
			t.Fatal("scalerMetadata is not a map")
		}
		if fd.MapKey().Kind() != protoreflect.StringKind || fd.MapValue().Kind() != protoreflect.StringKind {
			t.Errorf("scalerMetadata = map<%v,%v>, want map<string,string>", fd.MapKey().Kind(), fd.MapValue().Kind())
		}
	})
}

// TestWireRoundTrip checks that hand-encoded bytes, as KEDA's own generated
// code would put them on the wire, decode into the expected Go fields.
func TestWireRoundTrip(t *testing.T) {
	// MetricValue{metricName:"m" (1, LEN), metricValue:7 (2, VARINT),
	// metricValueFloat:1.5 (3, I64)}
	raw := []byte{
		0x0a, 0x01, 'm',
		0x10, 0x07,
		0x19, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,
	}
	var mv MetricValue
	if err := proto.Unmarshal(raw, &mv); err != nil {
		t.Fatal(err)
	}
	if mv.GetMetricName() != "m" || mv.GetMetricValue() != 7 || mv.GetMetricValueFloat() != 1.5 {
		t.Errorf("decoded %v, want metricName:m metricValue:7 metricValueFloat:1.5", &mv)
	}
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mv)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(raw) {
		t.Errorf("re-encoded %x, want %x", out, raw)
	}
}
