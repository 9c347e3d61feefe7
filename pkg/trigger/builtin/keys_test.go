package builtin

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tide-scaler/tide/pkg/trigger"
)

// TestKeys lists every key each source reads. A key added to a source's
// parse without being declared is refused as unknown (its own tests fail);
// one declared here without a row in the README fails TestREADMEKeyTables.
func TestKeys(t *testing.T) {
	reg := Registry(Options{})
	want := map[string]string{
		"kafka": "activationLagThreshold allowIdleConsumers awsRegion bootstrapServers ca caFile caFromEnv cert certFile " +
			"certFromEnv consumerGroup consumerRate drainGoal drainPodStart drainRebalancePause " +
			"ensureEvenDistributionOfPartitions excludePersistentLag key keyFile keyFromEnv " +
			"keyPassword keyPasswordFile keyPasswordFromEnv lagTarget lagThreshold limitToPartitionsWithLag " +
			"oauthExtensions oauthTokenEndpointUri offsetResetPolicy partitionLimitation password passwordFile " +
			"passwordFromEnv persistentLagPolls persistentLagTimeout sasl saslTokenProvider scaleToZeroOnInvalidOffset " +
			"scopes tls topic unsafeSsl username usernameFile usernameFromEnv",
		"redis": "activationLagCount activationListLength address addressFromEnv addresses addressesFromEnv ca caFile " +
			"caFromEnv cert certFile certFromEnv consumerGroup databaseIndex enableTLS host hostFromEnv hosts hostsFromEnv " +
			"key keyFile keyFromEnv keyPassword keyPasswordFile keyPasswordFromEnv lagCount lagTarget listLength listName " +
			"password passwordFile passwordFromEnv pendingEntriesCount port portFromEnv ports portsFromEnv redisType " +
			"sentinelMaster sentinelMasterFromEnv sentinelPassword sentinelPasswordFile sentinelPasswordFromEnv " +
			"sentinelUsername sentinelUsernameFile sentinelUsernameFromEnv stream streamLength tls unsafeSsl username " +
			"usernameFile usernameFromEnv",
		"inference": "activationThreshold authModes bearerToken bearerTokenFile bearerTokenFromEnv ca caFile caFromEnv " +
			"cert certFile certFromEnv customAuthHeader customAuthValue customAuthValueFile customAuthValueFromEnv " +
			"customHeaders eppInflightTokensMetric eppPoolKVCacheMetric eppPoolQueueMetric eppQueueMetric eppReadyPodsMetric " +
			"eppRequestCounter eppTargets generationTokensMetric ignoreNullValues key keyFile keyFromEnv kvCacheMetric labelSelector maxScaleDownRate " +
			"maxScaleUpRate mode model modelName namespace panicThreshold panicWindowPercentage password passwordFile " +
			"passwordFromEnv path port preemptionsMetric promptTokensMetric query queryParameters queueTimeMetric requestCounter requestLatencyMetric role roleLabel runningMetric scaleDownDelay " +
			"scaleToZeroGracePeriod scheme scrapeConcurrency scrapeInterval scrapeTimeout serverAddress service sloBand " +
			"stableWindow targetKVCache targetRequestRate targetRunning targetTPOT targetTTFT targetWaiting targets threshold timeout " +
			"tpotMetric ttftMetric unsafeSsl username usernameFile usernameFromEnv variant variantLabel variants waitingMetric",
	}
	if got := reg.Names(); !slices.Equal(got, []string{"inference", "kafka", "redis"}) {
		t.Errorf("sources %v", got)
	}
	shared := []string{"caCert", "deactivationThreshold", "enableTLS", "hpaBehavior", "hpaName", "metricMode", "metricName",
		"minActiveDuration", "scalerAddress", "source", "tlsCertFile", "tlsClientCert", "tlsClientKey", "unknownGracePeriod",
		"unsafeSsl"}
	for source, keys := range want {
		if got := strings.Join(reg.SourceKeys(source), " "); got != keys {
			t.Errorf("%s reads\n  %s\nwant\n  %s", source, got, keys)
		}
		all := reg.Keys(source)
		for _, k := range shared {
			if !slices.Contains(all, k) {
				t.Errorf("%s does not accept the shared key %q", source, k)
			}
		}
	}
}

// TestREADMEKeyTables: the README's key tables document exactly the keys
// each source accepts, so docs and code cannot drift. A source's keys are
// the first column of its table (### `source: <name>`), the table of keys
// every source accepts, the keys KEDA itself sends, the <key>FromEnv /
// <key>File spellings of the secret keys, and the <key>FromEnv spellings
// a source's section lists.
func TestREADMEKeyTables(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := parseReadme(t, string(readme))
	reg := Registry(Options{})
	for _, source := range reg.Names() {
		table, ok := doc.tables["source: "+source]
		if !ok {
			t.Errorf("README has no table for source %s", source)
			continue
		}
		documented := map[string]bool{}
		for _, k := range append(append(table, doc.tables["Keys every source accepts"]...), trigger.KEDAKeys...) {
			documented[k] = true
		}
		for k := range documented {
			if doc.fromEnvAndFile[k] {
				documented[k+"FromEnv"], documented[k+"File"] = true, true
			}
			if doc.fromEnv["source: "+source][k] {
				documented[k+"FromEnv"] = true
			}
		}
		accepted := reg.Keys(source)
		for _, k := range accepted {
			if !documented[k] {
				t.Errorf("source %s accepts %q, which the README does not document", source, k)
			}
		}
		for k := range documented {
			if !slices.Contains(accepted, k) {
				t.Errorf("the README documents %q for source %s, which does not accept it", k, source)
			}
		}
	}
	if !slices.Equal(doc.keda, trigger.KEDAKeys) {
		t.Errorf("the README names KEDA's own keys %v; the code accepts %v", doc.keda, trigger.KEDAKeys)
	}
}

type readmeKeys struct {
	tables         map[string][]string        // section title -> first-column keys
	fromEnvAndFile map[string]bool            // keys also read as <key>FromEnv and <key>File
	fromEnv        map[string]map[string]bool // by section: keys also read as <key>FromEnv
	keda           []string                   // KEDA's own keys, as listed
}

var (
	section  = regexp.MustCompile("^### `?([^`]+?)`?( —.*)?$")
	codeSpan = regexp.MustCompile("`([A-Za-z]+)`")
)

// parseReadme reads the key tables of the configuration reference and the
// three marked lists: <!-- keys:secrets -->, <!-- keys:fromenv --> (of the
// section it stands in) and <!-- keys:keda -->, each followed by one line
// of backticked keys.
func parseReadme(t *testing.T, text string) readmeKeys {
	doc := readmeKeys{tables: map[string][]string{}, fromEnvAndFile: map[string]bool{}, fromEnv: map[string]map[string]bool{}}
	lines := strings.Split(text, "\n")
	title := ""
	for i, l := range lines {
		if m := section.FindStringSubmatch(l); m != nil {
			title = m[1]
			continue
		}
		if strings.HasPrefix(l, "## ") {
			title = ""
		}
		if title != "" && strings.HasPrefix(l, "| `") {
			first := strings.SplitN(l, "|", 3)[1]
			for _, m := range codeSpan.FindAllStringSubmatch(first, -1) {
				doc.tables[title] = append(doc.tables[title], m[1])
			}
		}
		marker := strings.TrimSpace(l)
		if i+1 >= len(lines) || !strings.HasPrefix(marker, "<!-- keys:") {
			continue
		}
		var keys []string
		for _, m := range codeSpan.FindAllStringSubmatch(lines[i+1], -1) {
			keys = append(keys, m[1])
		}
		switch marker {
		case "<!-- keys:secrets -->":
			for _, k := range keys {
				doc.fromEnvAndFile[k] = true
			}
		case "<!-- keys:fromenv -->":
			if doc.fromEnv[title] == nil {
				doc.fromEnv[title] = map[string]bool{}
			}
			for _, k := range keys {
				doc.fromEnv[title][k] = true
			}
		case "<!-- keys:keda -->":
			doc.keda = keys
		default:
			t.Fatalf("README: unknown marker %s", marker)
		}
	}
	for _, m := range []string{"secrets", "fromenv", "keda"} {
		if !strings.Contains(text, "<!-- keys:"+m+" -->") {
			t.Fatalf("README lacks the <!-- keys:%s --> list", m)
		}
	}
	return doc
}
