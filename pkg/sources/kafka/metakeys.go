package kafka

import (
	"slices"

	"github.com/tide-scaler/tide/pkg/metadata"
)

// Keys lists every metadata key the kafka source reads, sorted. The trigger
// core rejects any other key (apart from the shared and KEDA's own), so a
// misspelt key is an error rather than a silent default.
func Keys() []string {
	keys := []string{
		"bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold",
		"offsetResetPolicy", "allowIdleConsumers", keyExcludePersistentLag, "scaleToZeroOnInvalidOffset",
		"limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "partitionLimitation",
		keyPersistentLagPolls, keyPersistentLagTimeout, keyLagTarget, keyDrainGoal, keyDrainPodStart,
		keyDrainRebalancePause, keyConsumerRate, "tls", "unsafeSsl", "sasl",
		"saslTokenProvider", "oauthTokenEndpointUri", "scopes", "oauthExtensions", "awsRegion",
	}
	for _, k := range secretKeys {
		keys = append(keys, metadata.SecretKeys(k)...)
	}
	slices.Sort(keys)
	return keys
}

// secretKeys are the credentials, each read as key, keyFromEnv or keyFile.
var secretKeys = []string{"ca", "cert", "key", "keyPassword", "username", "password"}
