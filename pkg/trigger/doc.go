// Package trigger is Tide's trigger core: every face (the gRPC scaler, the
// external metrics API, standalone 0<->1 and headroom, explain) asks it, and
// only it, what a trigger's metadata means and what a sample of it says.
//
// It owns:
//   - the source registry (Registry, Source): which `source` values exist
//     and the keys each reads;
//   - Parse: the limits on what one request may carry, the `source` and
//     `metricName` keys, unknown keys (an error naming the key, with the
//     nearest known one as a hint), the shared strategy keys and the rules
//     across keys (lagTarget needs metricMode: replicas);
//   - Trigger: one parsed trigger, which evaluates a sample into the value
//     and target the HPA receives, the replica count and limiting rule, and
//     activity, decided here only, by the trigger's activation latch;
//   - Cache: one Trigger per distinct metadata, whichever face asks, with a
//     follower that steps a stateful latch on every new sample, pins for
//     configured triggers, a size bound and an idle sweep.
//
// It imports the engine contract (pkg/sources), strategy and metadata, never
// a concrete source (cmd registers them through pkg/trigger/builtin), a
// face, gRPC or Kubernetes.
package trigger
