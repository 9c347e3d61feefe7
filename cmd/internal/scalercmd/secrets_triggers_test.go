package scalercmd

import (
	"sort"
	"testing"

	"github.com/tide-scaler/tide/internal/testpki"
)

// secretVariants gives the marker as password, passwordFromEnv (as KEDA
// forwards it: the resolved value) and passwordFile.
func secretVariants(passwordFile string) map[string]map[string]string {
	return map[string]map[string]string{
		"password":        {"password": secretMarker},
		"passwordFromEnv": {"passwordFromEnv": secretMarker},
		"passwordFile":    {"passwordFile": passwordFile},
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

type secretTrigger struct {
	name    string
	md      map[string]string
	control bool // carries controlMarker in a non-secret key; its error must echo it
}

func secretTriggers(t *testing.T, redisAddr, passwordFile string) []secretTrigger {
	var out []secretTrigger
	for v, secret := range secretVariants(passwordFile) {
		out = append(out,
			secretTrigger{name: "kafka-unreachable-" + v, md: merge(map[string]string{
				"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g-" + v, "topic": "orders",
				"sasl": "plaintext", "username": "alice"}, secret)},
			secretTrigger{name: "redis-wrongpass-" + v, md: merge(map[string]string{
				"source": "redis", "address": redisAddr, "listName": "jobs-" + v}, secret)},
			secretTrigger{name: "redis-unreachable-" + v, md: merge(map[string]string{
				"source": "redis", "address": "127.0.0.1:1", "listName": "jobs-" + v}, secret)},
		)
	}
	out = append(out,
		// Invalid metadata next to a secret: the error names the bad key,
		// never the credential.
		secretTrigger{name: "kafka-bad-sasl", md: map[string]string{
			"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g", "topic": "orders",
			"sasl": "bogus", "username": "alice", "password": secretMarker}},
		secretTrigger{name: "kafka-password-no-sasl-user", md: map[string]string{
			"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g", "topic": "orders",
			"sasl": "plaintext", "password": secretMarker}},
		secretTrigger{name: "kafka-ca-not-pem", md: map[string]string{
			"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g", "topic": "orders",
			"tls": "enable", "ca": secretMarker}},
		secretTrigger{name: "redis-ca-not-pem", md: map[string]string{
			"source": "redis", "address": "127.0.0.1:1", "listName": "jobs", "enableTLS": "true", "ca": secretMarker}},
		secretTrigger{name: "redis-keyPassword", md: map[string]string{
			"source": "redis", "address": "127.0.0.1:1", "listName": "jobs", "keyPassword": secretMarker}},
		// Positive control: a non-secret bad value is echoed.
		secretTrigger{name: "control-bad-lagThreshold", control: true, md: map[string]string{
			"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g", "topic": "orders",
			"lagThreshold": controlMarker, "sasl": "plaintext", "username": "alice", "password": secretMarker}},
	)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// keyVariants gives a PEM value as key, keyFromEnv (the resolved value) and
// keyFile.
func keyVariants(key, pemValue, file string) map[string]map[string]string {
	return map[string]map[string]string{
		key:             {key: pemValue},
		key + "FromEnv": {key + "FromEnv": pemValue},
		key + "File":    {key + "File": file},
	}
}

// moreSecretTriggers covers inference triggers (KEDA's prometheus auth
// keys against promURL, a server that refuses them and repeats them in its
// answer, and credentials in URLs), TLS private keys and Redis sentinel
// credentials. Private keys cannot carry the marker: their base64 lines
// are searched for instead (streams.keys).
func moreSecretTriggers(sentinelAddr, otherPass, markerKeyFile, passwordFile, promURL string, pki, other *testpki.PKI) []secretTrigger {
	var out []secretTrigger
	prom := map[string]string{"source": "inference", "mode": "prometheus", "serverAddress": promURL,
		"query": "sum(vllm:num_requests_waiting)", "threshold": "4"}
	for v, secret := range map[string]map[string]string{
		"bearer-custom-inline":  {"authModes": "bearer,custom", "bearerToken": secretMarker, "customAuthHeader": "X-Auth", "customAuthValue": secretMarker},
		"bearer-custom-FromEnv": {"authModes": "bearer,custom", "bearerTokenFromEnv": secretMarker, "customAuthHeader": "X-Auth", "customAuthValueFromEnv": secretMarker},
		"bearer-custom-File":    {"authModes": "bearer,custom", "bearerTokenFile": passwordFile, "customAuthHeader": "X-Auth", "customAuthValueFile": passwordFile},
		"basic-inline":          {"authModes": "basic", "username": "alice", "password": secretMarker},
		"basic-FromEnv":         {"authModes": "basic", "username": "alice", "passwordFromEnv": secretMarker},
		"basic-File":            {"authModes": "basic", "username": "alice", "passwordFile": passwordFile},
		// Invalid auth metadata next to the secrets: the error names the
		// bad key and value, never a credential.
		"bearer-and-basic": {"authModes": "bearer,basic", "username": "alice", "bearerToken": secretMarker, "password": secretMarker},
		"token-with-CRLF":  {"authModes": "bearer", "bearerToken": "x\r\n" + secretMarker},
	} {
		out = append(out, secretTrigger{name: "inference-prom-keda-auth-" + v, md: merge(prom, secret)})
	}
	// Kafka OAuth: the client secret goes to the token endpoint (here the
	// refusing, echoing server) only; parse, logs and labels never hold it.
	for v, secret := range secretVariants(passwordFile) {
		out = append(out, secretTrigger{name: "kafka-oauthbearer-" + v, md: merge(map[string]string{
			"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g-oauth-" + v, "topic": "orders",
			"sasl": "oauthbearer", "username": "client-id", "oauthTokenEndpointUri": promURL + "/token", "scopes": "kafka"}, secret)})
	}
	out = append(out,
		secretTrigger{name: "inference-prom-url-credentials", md: merge(prom, map[string]string{
			"serverAddress": "http://alice:" + secretMarker + "@127.0.0.1:1"})},
		secretTrigger{name: "inference-scrape-url-credentials", md: map[string]string{
			"source": "inference", "targets": "http://alice:" + secretMarker + "@127.0.0.1:1/metrics", "targetWaiting": "4"}},
	)
	for v, key := range keyVariants("key", pki.ClientKey, pki.ClientKeyFile) {
		out = append(out,
			secretTrigger{name: "redis-tls-" + v, md: merge(map[string]string{
				"source": "redis", "address": "127.0.0.1:1", "listName": "jobs-" + v, "enableTLS": "true",
				"ca": pki.CA, "cert": pki.ClientCert}, key)},
			secretTrigger{name: "kafka-tls-" + v, md: merge(map[string]string{
				"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g-" + v, "topic": "orders",
				"tls": "enable", "ca": pki.CA, "cert": pki.ClientCert}, key)},
		)
	}
	out = append(out,
		secretTrigger{name: "redis-tls-key-of-another-pair", md: map[string]string{
			"source": "redis", "address": "127.0.0.1:1", "listName": "jobs", "enableTLS": "true",
			"cert": pki.ClientCert, "key": other.ClientKey}},
		secretTrigger{name: "kafka-tls-key-of-another-pair", md: map[string]string{
			"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g", "topic": "orders",
			"tls": "enable", "cert": pki.ClientCert, "key": other.ClientKey}},
		secretTrigger{name: "kafka-tls-key-marker-pem", md: map[string]string{
			"source": "kafka", "bootstrapServers": "127.0.0.1:1", "consumerGroup": "g", "topic": "orders",
			"tls": "enable", "cert": pki.ClientCert, "key": markerPEM}},
		secretTrigger{name: "redis-tls-keyFile-marker-pem", md: map[string]string{
			"source": "redis", "address": "127.0.0.1:1", "listName": "jobs", "enableTLS": "true",
			"cert": pki.ClientCert, "keyFile": markerKeyFile}},
		secretTrigger{name: "redis-sentinelPassword-without-sentinel", md: map[string]string{
			"source": "redis", "address": "127.0.0.1:1", "listName": "jobs", "sentinelPassword": secretMarker}},
		// The sentinel accepts otherPass; the master behind it, too: the
		// marker as the master's password fails at the master.
		secretTrigger{name: "redis-sentinel-master-wrongpass", md: map[string]string{
			"source": "redis", "redisType": "sentinel", "address": sentinelAddr, "sentinelMaster": "mymaster",
			"listName": "jobs", "sentinelPassword": otherPass, "password": secretMarker}},
	)
	for v, secret := range map[string]map[string]string{
		"sentinelPassword":        {"sentinelPassword": secretMarker},
		"sentinelPasswordFromEnv": {"sentinelPasswordFromEnv": secretMarker},
	} {
		out = append(out,
			secretTrigger{name: "redis-sentinel-wrongpass-" + v, md: merge(map[string]string{
				"source": "redis", "redisType": "sentinel", "address": sentinelAddr, "sentinelMaster": "mymaster",
				"listName": "jobs-" + v, "sentinelUsername": "default", "password": otherPass}, secret)},
			secretTrigger{name: "redis-sentinel-unreachable-" + v, md: merge(map[string]string{
				"source": "redis", "redisType": "sentinel", "address": "127.0.0.1:1", "sentinelMaster": "mymaster",
				"listName": "jobs-" + v}, secret)},
		)
	}
	return out
}

// markerPEM is a private key block whose body is the marker: invalid key
// material that must not be echoed by the error that rejects it.
const markerPEM = "-----BEGIN EC PRIVATE KEY-----\n" + secretMarker + "\n-----END EC PRIVATE KEY-----\n"
