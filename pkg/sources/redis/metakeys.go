package redis

import (
	"slices"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// Keys lists every metadata key the redis source reads, sorted. The trigger
// core rejects any other key (apart from the shared and KEDA's own), so a
// misspelt key is an error rather than a silent default.
func Keys() []string {
	keys := []string{
		"listName", "stream", "redisType", "databaseIndex", "enableTLS", "tls", "unsafeSsl",
	}
	keys = append(keys, listOnly...)
	keys = append(keys, streamOnly...)
	for _, k := range plainKeys {
		keys = append(keys, k, k+"FromEnv")
	}
	for _, k := range []string{"username", "password", "sentinelUsername", "sentinelPassword", "ca", "cert", "key", "keyPassword"} {
		keys = append(keys, metadata.SecretKeys(k)...)
	}
	slices.Sort(keys)
	return keys
}

// plainKeys are read as key or keyFromEnv (see plain): KEDA users keep
// addresses in the workload's environment.
var plainKeys = []string{"address", "addresses", "host", "hosts", "port", "ports", "sentinelMaster"}
