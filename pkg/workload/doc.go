// Package workload is the standalone configuration: the triggers Tide
// serves without KEDA, each with the workload it scales. Both faces that
// work without KEDA read it — the external metrics API (pkg/externalmetrics)
// serves each entry's metric, standalone (pkg/standalone) owns 0 <-> 1 and
// node headroom for it — so neither imports the other.
//
// The file (in Kubernetes a ConfigMap mounted as a volume):
//
//	triggers:
//	- name: orders            # unique DNS-1123 label; the `trigger` label
//	  namespace: shop         # the HPA's and the workload's namespace
//	  metricName: orders-lag  # the metric the HPA asks for (default: name)
//	  scaleTarget: {apiVersion: apps/v1, kind: Deployment, name: orders-consumer}
//	  minReplicas: 0          # default 1; 0 lets the scaler own 0 <-> 1
//	  maxReplicas: 12
//	  cooldownPeriod: 5m      # before 1 -> 0; a duration or seconds
//	  nodeHints: true         # keep node headroom (or nodeLeadTime: 90s)
//	  metadata: {source: kafka, bootstrapServers: kafka:9092, consumerGroup: orders, topic: orders, lagThreshold: "10"}
//
// It owns decoding (strict: unknown and duplicate keys are errors, and a
// metadata value YAML did not read as a string is rejected rather than
// rewritten), validation (every error a FieldError naming its path, e.g.
// triggers[2].metadata.lagThreshold; the metadata is parsed by the trigger
// core, so what the gRPC path rejects fails at load time), and the
// reloading File, whose entries hold their triggers in the shared
// trigger.Cache for as long as they are configured.
//
// It imports the trigger core (pkg/trigger), pkg/metadata and pkg/scale,
// never a face.
package workload
