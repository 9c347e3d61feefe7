package kafka

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tide-scaler/tide/pkg/metadata"
	"github.com/tide-scaler/tide/pkg/sources"
)

// Defaults from KEDA's kafka scaler.
const (
	defaultLagThreshold           = 10
	defaultActivationLagThreshold = 0
)

// Trigger is one parsed kafka trigger: what to read (its Query) and how to
// turn the reading into a metric value (thresholds and caps).
type Trigger struct {
	query *query

	lagThreshold           float64
	activationLagThreshold float64
	allowIdleConsumers     bool
	evenDistribution       bool
	metricName             string
	// lagTarget > 0 decides replicas from rates (metricMode replicas only;
	// see NeedsReplicasMode).
	lagTarget time.Duration
	// drain, when set, decides replicas by the drain-time law (drainGoal;
	// metricMode replicas only).
	drain *drainConfig

	// caps remembers hpa.CapValue per partition count: it is a 64-step
	// search that would otherwise be most of every RPC's cost, and the
	// partition count rarely changes.
	caps capMemo
}

// Parse validates a trigger's scalerMetadata and builds its Trigger. Keys and
// defaults follow KEDA's kafka scaler; topic may additionally be a comma
// list, in which case partitionLimitation selects partitions of every listed
// topic, and the partition count that caps and snaps replicas is the total
// over all of them. Every error is a *metadata.ConfigError naming the key
// and, unless it is a credential, the bad value.
//
// Stricter than KEDA, because silent misconfiguration scales the wrong way:
// limitToPartitionsWithLag contradicts allowIdleConsumers and
// ensureEvenDistributionOfPartitions; TLS files without tls: enable and
// credentials without sasl are errors rather than ignored.
func Parse(md metadata.Metadata, pol sources.Policy) (*Trigger, error) {
	brokers, err := parseBrokers(md, pol)
	if err != nil {
		return nil, err
	}
	group, err := md.Required("consumerGroup")
	if err != nil {
		return nil, err
	}
	topics, err := parseTopics(md)
	if err != nil {
		return nil, err
	}
	t := &Trigger{}
	if t.lagThreshold, err = md.Float("lagThreshold", defaultLagThreshold, true); err != nil {
		return nil, err
	}
	if t.activationLagThreshold, err = md.Float("activationLagThreshold", defaultActivationLagThreshold, false); err != nil {
		return nil, err
	}
	policy, err := md.Enum("offsetResetPolicy", "latest", "latest", "earliest")
	if err != nil {
		return nil, err
	}
	var opt lagOptions
	opt.earliest = policy == "earliest"
	flags := []struct {
		key string
		dst *bool
	}{
		{"allowIdleConsumers", &t.allowIdleConsumers},
		{"excludePersistentLag", &opt.excludePersistentLag},
		{"scaleToZeroOnInvalidOffset", &opt.scaleToZeroOnInvalidOffset},
		{"limitToPartitionsWithLag", &opt.limitToPartitionsWithLag},
		{"ensureEvenDistributionOfPartitions", &t.evenDistribution},
	}
	for _, f := range flags {
		if *f.dst, err = md.Bool(f.key, false); err != nil {
			return nil, err
		}
	}
	if err := parsePersistence(md, &opt); err != nil {
		return nil, err
	}
	var parts partitionSet
	if md.Has("partitionLimitation") {
		raw := md.String("partitionLimitation", "")
		if len(topics) == 0 {
			return nil, metadata.Invalid("partitionLimitation", raw, "requires topic")
		}
		if parts, err = parsePartitions("partitionLimitation", raw); err != nil {
			return nil, err
		}
	}
	if err := checkCombinations(t, opt, len(topics) > 0); err != nil {
		return nil, err
	}
	sec, err := parseSecurity(md, pol)
	if err != nil {
		return nil, err
	}
	if t.lagTarget, err = parseLagTarget(md); err != nil {
		return nil, err
	}
	if t.drain, err = parseDrain(md); err != nil {
		return nil, err
	}
	t.query = newQuery(newCluster(brokers, sec, pol.Upstreams), group, topics, opt, parts, membersOf(t.lagTarget > 0 || t.drain != nil, !t.allowIdleConsumers))
	t.metricName = metricName(group, topics)
	return t, nil
}

// checkCombinations rejects options that need a topic or contradict each
// other, naming every key involved.
func checkCombinations(t *Trigger, opt lagOptions, hasTopic bool) error {
	switch {
	case opt.limitToPartitionsWithLag && !hasTopic:
		return metadata.Invalid("limitToPartitionsWithLag", "true", "requires topic")
	case t.evenDistribution && !hasTopic:
		return metadata.Invalid("ensureEvenDistributionOfPartitions", "true", "requires topic")
	case opt.limitToPartitionsWithLag && t.allowIdleConsumers:
		return metadata.Invalid("limitToPartitionsWithLag", "true",
			"contradicts allowIdleConsumers: true (one caps replicas at the partitions with lag, the other lifts every cap); set only one")
	case opt.limitToPartitionsWithLag && t.evenDistribution:
		// KEDA caps at the partitions with lag and then snaps up to a factor
		// of all partitions, which can break the cap; we refuse instead.
		return metadata.Invalid("limitToPartitionsWithLag", "true",
			"contradicts ensureEvenDistributionOfPartitions: true (snapping to a factor of all partitions can exceed the partitions with lag); set only one")
	}
	return nil
}

// Bounds of the stuck-partition keys.
const (
	maxPersistentPolls         = 10_000
	defaultPersistentTimeout   = 5 * time.Minute
	maxPersistentTimeout       = 24 * time.Hour
	keyPersistentLagPolls      = "persistentLagPolls"
	keyPersistentLagTimeout    = "persistentLagTimeout"
	keyExcludePersistentLag    = "excludePersistentLag"
	minPersistentPollsRequired = 2
)

// parsePersistence reads persistentLagPolls (stuck after N polls without
// movement; at least 2, since one poll cannot show that nothing moved) and
// persistentLagTimeout (how long a stuck partition still keeps the workload
// active, default 5m). KEDA's excludePersistentLag judges after a single
// poll and only for scale-out; the two would disagree about the same
// partition, so setting both is an error.
func parsePersistence(md metadata.Metadata, opt *lagOptions) error {
	if !md.Has(keyPersistentLagPolls) {
		if md.Has(keyPersistentLagTimeout) {
			return metadata.Invalid(keyPersistentLagTimeout, md.String(keyPersistentLagTimeout, ""), "requires %s", keyPersistentLagPolls)
		}
		return nil
	}
	n, err := md.Int(keyPersistentLagPolls, 0, minPersistentPollsRequired)
	if err != nil {
		return err
	}
	if n > maxPersistentPolls {
		return metadata.Invalid(keyPersistentLagPolls, md.String(keyPersistentLagPolls, ""), "must be at most %d", maxPersistentPolls)
	}
	if opt.excludePersistentLag {
		return metadata.Invalid(keyPersistentLagPolls, md.String(keyPersistentLagPolls, ""),
			"contradicts %s: true (that one excludes lag after a single poll); set only one", keyExcludePersistentLag)
	}
	opt.persistentPolls = int(n)
	opt.persistentTimeout, err = md.Duration(keyPersistentLagTimeout, defaultPersistentTimeout, time.Second, 0, maxPersistentTimeout)
	return err
}

// lagTarget bounds: below a second is below the poll interval; above a day
// is a typo.
const (
	keyLagTarget = "lagTarget"
	minLagTarget = time.Second
	maxLagTarget = 24 * time.Hour
)

// parseLagTarget reads lagTarget, which asks for the fewest replicas that
// keep up with production and drain the lag within the target. It decides
// a replica count, so it needs metricMode: replicas, which the trigger
// core checks (NeedsReplicasMode).
func parseLagTarget(md metadata.Metadata) (time.Duration, error) {
	if !md.Has(keyLagTarget) {
		return 0, nil
	}
	d, err := md.Duration(keyLagTarget, 0, time.Second, minLagTarget, maxLagTarget)
	if err != nil {
		return 0, err
	}
	return d, nil
}

// parseBrokers checks that every bootstrap server is host:port, because
// kafka-go would only fail later, at dial time, with a less clear error.
// The list is sorted and deduplicated: it names the upstream.
func parseBrokers(md metadata.Metadata, pol sources.Policy) ([]string, error) {
	if _, err := md.Required("bootstrapServers"); err != nil {
		return nil, err
	}
	brokers := md.List("bootstrapServers")
	for _, b := range brokers {
		host, port, err := net.SplitHostPort(b)
		n, perr := strconv.Atoi(port)
		if err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return nil, metadata.Invalid("bootstrapServers", b, "want host:port")
		}
		if err := pol.CheckUpstream("bootstrapServers", b); err != nil {
			return nil, err
		}
	}
	if len(brokers) == 0 {
		return nil, metadata.Invalid("bootstrapServers", md["bootstrapServers"], "lists no broker")
	}
	slices.Sort(brokers)
	return slices.Compact(brokers), nil
}

// parseTopics reads topic as a comma list (our extension of KEDA's single
// topic). Kafka topic names are at most 249 of [a-zA-Z0-9._-]; anything else
// cannot exist and is a typo worth reporting now rather than as "not found".
func parseTopics(md metadata.Metadata) ([]string, error) {
	topics := md.List("topic")
	for _, t := range topics {
		if len(t) > 249 || t == "." || t == ".." || strings.TrimLeft(t, topicChars) != "" {
			return nil, metadata.Invalid("topic", t, "not a valid Kafka topic name (at most 249 of a-z A-Z 0-9 . _ -)")
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics), nil
}

const topicChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
