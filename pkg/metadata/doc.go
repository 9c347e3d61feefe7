// Package metadata owns a trigger's scalerMetadata as typed, validating
// getters (Metadata) and the error every bad key becomes (ConfigError,
// which the faces map to gRPC InvalidArgument or a field path).
//
// It is a leaf: it imports only the standard library, so that sources,
// strategy and the trigger core can all read metadata without importing
// each other.
package metadata
