// Package kedacompat is Tide's KEDA compatibility suite.
//
// It builds the scaler binary from the repository root, runs it as a separate
// process against an in-process fake Kafka cluster (kfake), and drives every
// RPC of the external-scaler protocol through KEDA's own generated client
// (github.com/kedacore/keda/v2/pkg/scalers/externalscaler).
//
// It is a separate Go module because KEDA's generated code and Tide's both
// register "externalscaler.proto" with the protobuf registry, which panics if
// both are linked into one binary. Everything lives in the _test.go files;
// this file only names the package.
package kedacompat
