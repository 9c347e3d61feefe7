package migrate

// Fate is what becomes of a KEDA key in Tide.
type Fate string

const (
	// Same: the key means the same to Tide.
	Same Fate = "same"
	// Renamed: Tide reads it under another key (Key.Tide).
	Renamed Fate = "renamed"
	// Dropped: the key has no effect in Tide and is left out.
	Dropped Fate = "dropped"
	// Unsupported: Tide cannot do what the key asks; a trigger that sets it
	// cannot be converted.
	Unsupported Fate = "not supported"
)

// Key is one KEDA key and its fate.
type Key struct {
	KEDA string
	Fate Fate
	Tide string // the Tide key, for Renamed
	Note string // what changes in meaning, if anything
}

// Mapping is one KEDA trigger type and how it becomes a Tide trigger.
type Mapping struct {
	Type   string            // KEDA's trigger type
	Source string            // Tide's source
	Fixed  map[string]string // keys the type implies, e.g. redisType: cluster
	Keys   []Key
}

const (
	// fromTA: KEDA does not forward TriggerAuthentication parameters to
	// external scalers.
	fromTA    = "KEDA reads it from a TriggerAuthentication, which external scalers never see: give `<key>FromEnv` or `<key>File`"
	noFromEnv = "Tide has no `<key>FromEnv` for it: give the value itself"
)

// kafkaKeys are KEDA v2.21.0's kafka keys (pkg/scalers/kafka_scaler.go
// lines 61-104, the kafkaMetadata struct tags).
var kafkaKeys = []Key{
	{"bootstrapServers", Same, "", ""},
	{"bootstrapServersFromEnv", Unsupported, "", noFromEnv},
	{"consumerGroup", Same, "", ""},
	{"consumerGroupFromEnv", Unsupported, "", noFromEnv},
	{"topic", Same, "", "Tide also takes a comma list of topics"},
	{"topicFromEnv", Unsupported, "", noFromEnv},
	{"partitionLimitation", Same, "", ""},
	{"lagThreshold", Same, "", ""},
	{"activationLagThreshold", Same, "", ""},
	{"offsetResetPolicy", Same, "", ""},
	{"allowIdleConsumers", Same, "", "false caps the value at exactly partitions × lagThreshold; KEDA caps only when lag / lagThreshold in integer division exceeds the partitions, so it can send up to partitions × lagThreshold + lagThreshold − 1 (one replica more than partitions)"},
	{"excludePersistentLag", Same, "", "judged between Tide's background polls (every --poll-interval), not between KEDA's calls"},
	{"scaleToZeroOnInvalidOffset", Same, "", ""},
	{"limitToPartitionsWithLag", Same, "", "the same exact cap, at least 1"},
	{"ensureEvenDistributionOfPartitions", Same, "", ""},
	{"fullMetadata", Dropped, "", "Tide never reads the whole cluster's metadata, only the group's topics"},
	{"version", Dropped, "", "franz-go negotiates the protocol version with the brokers"},
	{"tls", Same, "", ""},
	{"unsafeSsl", Same, "", ""},
	{"ca", Same, "", fromTA},
	{"cert", Same, "", fromTA},
	{"key", Same, "", fromTA},
	{"keyPassword", Same, "", fromTA},
	{"sasl", Same, "", "gssapi is not supported (no Kerberos client)"},
	{"username", Same, "", fromTA},
	{"password", Same, "", fromTA},
	{"saslTokenProvider", Same, "", ""},
	{"scopes", Same, "", fromTA},
	{"oauthTokenEndpointUri", Same, "", fromTA},
	{"oauthExtensions", Same, "", fromTA},
	{"keytab", Unsupported, "", "no Kerberos (sasl: gssapi)"},
	{"ccacheName", Unsupported, "", "no Kerberos (sasl: gssapi)"},
	{"realm", Unsupported, "", "no Kerberos (sasl: gssapi)"},
	{"kerberosConfig", Unsupported, "", "no Kerberos (sasl: gssapi)"},
	{"kerberosServiceName", Unsupported, "", "no Kerberos (sasl: gssapi)"},
	{"kerberosDisableFAST", Unsupported, "", "no Kerberos (sasl: gssapi)"},
	{"awsRegion", Same, "", "aws_msk_iam takes the scaler's own AWS credentials (IRSA, Pod Identity, environment)"},
}

// redisConnKeys are the connection keys KEDA's redis and redis-streams
// scalers share (pkg/scalers/redis_scaler.go lines 49-62,
// redisConnectionInfo), each also read as <key>FromEnv.
var redisConnKeys = []Key{
	{"address", Same, "", ""}, {"addressFromEnv", Same, "", ""},
	{"addresses", Same, "", ""}, {"addressesFromEnv", Same, "", ""},
	{"host", Same, "", ""}, {"hostFromEnv", Same, "", ""},
	{"hosts", Same, "", ""}, {"hostsFromEnv", Same, "", ""},
	{"port", Same, "", ""}, {"portFromEnv", Same, "", ""},
	{"ports", Same, "", ""}, {"portsFromEnv", Same, "", ""},
	{"username", Same, "", ""}, {"usernameFromEnv", Same, "", ""},
	{"password", Same, "", ""}, {"passwordFromEnv", Same, "", ""},
	{"sentinelUsername", Same, "", ""}, {"sentinelUsernameFromEnv", Same, "", ""},
	{"sentinelPassword", Same, "", ""}, {"sentinelPasswordFromEnv", Same, "", ""},
	{"sentinelMaster", Same, "", ""}, {"sentinelMasterFromEnv", Same, "", ""},
	{"unsafeSsl", Same, "", ""},
	{"Cert", Renamed, "cert", fromTA},
	{"cert", Same, "", fromTA},
	{"key", Same, "", fromTA},
	{"keyPassword", Unsupported, "", "give the key unencrypted"},
	{"ca", Same, "", fromTA},
	{"databaseIndex", Same, "", ""},
	{"enableTLS", Same, "", ""},
	{"tls", Same, "", ""},
}

// redisListKeys are KEDA's redis keys besides the connection's
// (pkg/scalers/redis_scaler.go lines 66-71).
var redisListKeys = []Key{
	{"listName", Same, "", "Tide reads a comma list (summed) and glob patterns (*, ?, [) where KEDA reads one key literally"},
	{"listLength", Same, "", ""},
	{"activationListLength", Same, "", ""},
}

// redisStreamKeys are KEDA's redis-streams keys besides the connection's
// (pkg/scalers/redis_streams_scaler.go lines 52-61).
var redisStreamKeys = []Key{
	{"stream", Same, "", ""},
	{"consumerGroup", Same, "", "a group missing from the stream fails the trigger; KEDA's lag mode falls back to XLEN"},
	{"pendingEntriesCount", Same, "", ""},
	{"streamLength", Same, "", ""},
	{"lagCount", Same, "", "a lag Redis reports as nil is counted from the group's last-delivered id, never read as 0"},
	{"activationLagCount", Same, "", ""},
}

// prometheusKeys are KEDA v2.21.0's prometheus keys
// (pkg/scalers/prometheus_scaler.go lines 51-63) and its authentication
// keys (pkg/scalers/authentication/authentication_types.go lines 42-84).
var prometheusKeys = []Key{
	{"serverAddress", Same, "", ""},
	{"query", Same, "", ""},
	{"queryParameters", Same, "", ""},
	{"threshold", Same, "", ""},
	{"activationThreshold", Same, "", ""},
	{"namespace", Renamed, "queryParameters", "sent as the query parameter `namespace=<value>`, as KEDA does (Thanos Querier tenancy)"},
	{"customHeaders", Same, "", ""},
	{"ignoreNullValues", Same, "", "an empty, NaN or ±Inf answer read as 0 never activates, and deactivates only after unknownGracePeriod (60s; 0: at once, as KEDA)"},
	{"unsafeSsl", Same, "", ""},
	{"awsRegion", Unsupported, "", "no SigV4 signing (Amazon Managed Prometheus)"},
	{"timeout", Same, "", ""},
	{"identityOwner", Unsupported, "", "no workload identity for the query"},
	{"authModes", Same, "", "bearer, basic, tls and custom; not oauth or apiKey"},
	{"authMode", Renamed, "authModes", ""},
	{"username", Same, "", fromTA},
	{"password", Same, "", fromTA},
	{"cert", Same, "", fromTA},
	{"key", Same, "", fromTA},
	{"ca", Same, "", fromTA},
	{"bearerToken", Same, "", fromTA},
	{"token", Renamed, "bearerToken", fromTA},
	{"customAuthHeader", Same, "", fromTA},
	{"customAuthValue", Same, "", fromTA},
	{"oauthTokenURI", Unsupported, "", "no authModes oauth"},
	{"scopes", Unsupported, "", "no authModes oauth"},
	{"scope", Unsupported, "", "no authModes oauth"},
	{"clientID", Unsupported, "", "no authModes oauth"},
	{"clientSecret", Unsupported, "", "no authModes oauth"},
	{"endpointParams", Unsupported, "", "no authModes oauth"},
	{"apiKey", Unsupported, "", "no authModes apiKey"},
	{"method", Unsupported, "", "no authModes apiKey"},
	{"keyParamName", Unsupported, "", "no authModes apiKey"},
}

func concat(a, b []Key) []Key { return append(append([]Key{}, a...), b...) }

// Mappings are the KEDA trigger types Tide converts, in the README's order.
var Mappings = []Mapping{
	{Type: "kafka", Source: "kafka", Keys: kafkaKeys},
	{Type: "redis", Source: "redis", Keys: concat(redisListKeys, redisConnKeys)},
	{Type: "redis-cluster", Source: "redis", Fixed: map[string]string{"redisType": "cluster"}, Keys: concat(redisListKeys, redisConnKeys)},
	{Type: "redis-sentinel", Source: "redis", Fixed: map[string]string{"redisType": "sentinel"}, Keys: concat(redisListKeys, redisConnKeys)},
	{Type: "redis-streams", Source: "redis", Keys: concat(redisStreamKeys, redisConnKeys)},
	{Type: "redis-cluster-streams", Source: "redis", Fixed: map[string]string{"redisType": "cluster"}, Keys: concat(redisStreamKeys, redisConnKeys)},
	{Type: "redis-sentinel-streams", Source: "redis", Fixed: map[string]string{"redisType": "sentinel"}, Keys: concat(redisStreamKeys, redisConnKeys)},
	{Type: "prometheus", Source: "inference", Fixed: map[string]string{"mode": "prometheus"}, Keys: prometheusKeys},
}

// Lookup is the mapping of a KEDA trigger type.
func Lookup(kedaType string) (Mapping, bool) {
	for _, m := range Mappings {
		if m.Type == kedaType {
			return m, true
		}
	}
	return Mapping{}, false
}
