// Package migrate turns KEDA's built-in kafka, redis, redis-streams and
// prometheus triggers into Tide triggers and recomputes, from a reading Tide
// took, what KEDA v2.21.0's scaler would have sent for it (a migration dry
// run).
//
// It owns the key mapping (Mappings: every key of the four KEDA triggers,
// same, renamed, dropped or not supported, with what changes in meaning),
// the ScaledObject rewrite (ScaledObjects) and KEDA's arithmetic as small
// pure functions (KafkaLag, ...), each citing the KEDA source it follows.
// It does not import KEDA (internal/buildlayers forbids linking KEDA's
// scalers) and imports nothing of Tide's above the standard library and
// sigs.k8s.io/yaml; pkg/explain and internal/cli use it.
package migrate
